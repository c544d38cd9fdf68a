"""Fast INSERT of many model instances for the intake's hot path; sets their primary keys.

Django's bulk_create sends every value through the generic SQL compiler (about 10 µs a value, the
largest cost of a batch import). Here each field gets one adapter chosen once, and:
- SQLite: multi-row INSERT … RETURNING id, in chunks under the bound-parameter limit;
- PostgreSQL: ids drawn from the table's sequence, then COPY FROM STDIN (psycopg's C copy),
  avoiding a statement with tens of thousands of placeholders that the driver would have to parse.
Personal data goes through its fields: an EncryptedTextField's value is encrypted by the field, and
blind indexes (BlindIndexField) are computed from the clear values before the rows are written.
Only for plain models: no multi-table inheritance, no signals expected.

`new` builds the unsaved instances themselves: Model(**kwargs) walks every field of the model (get a
default, set it through its descriptor), about 30 µs for an order; `new` copies the defaults worked
out once per model, a few µs.
"""

import gc
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache, lru_cache
from operator import attrgetter

from django.db import connection, models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from django.utils import timezone

from zhongshu.core.fields import EncryptedTextField, blind_indexes

MAX_PARAMS = 30_000  # SQLite ≥ 3.32 allows 32,766 bound parameters; PostgreSQL 65,535

_IDENTITY = (models.CharField, models.TextField, models.IntegerField, models.BooleanField, models.ForeignKey)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run a batch with the cyclic garbage collector paused: the objects alive before it frozen
    (gc.freeze, so no full collection walks Django and every app, ~0.1 s each) and collections off
    (a batch keeps thousands of young objects alive; the collections of the young generations would
    walk them again and again, a tenth of a batch import's time, for the few cycles a batch leaves).
    Reference counting still frees what the batch drops; its cycles are collected after it.
    Paused already (by another batch's thread, a server's freeze at start): left as it is."""
    if gc.get_freeze_count() or not gc.isenabled():
        yield
        return
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def new(model: type[models.Model], **values) -> models.Model:
    """An unsaved instance, as model(**values) would make it: the fields named take their values (a
    relation by its instance: its id is copied now, the instance cached), the others their defaults."""
    plain, fresh, relations, names = _new_plan(model)
    if plain is None:  # a model with init signals: the real constructor
        return model(**values)
    if not values.keys() <= names:
        raise TypeError(f"{model.__name__}() got unexpected fields {sorted(values.keys() - names)}")
    obj = model.__new__(model)
    d = obj.__dict__
    d.update(plain)
    for attname, make in fresh:
        d[attname] = make()
    state = d["_state"] = ModelState()
    for name in values.keys() & relations.keys():
        rel, value = relations[name], values.pop(name)
        d[rel.attname] = None if value is None else getattr(value, rel.target_field.attname)
        state.fields_cache[name] = value
    d.update(values)
    return obj


@cache
def _new_plan(model: type[models.Model]) -> tuple[dict | None, list, dict, frozenset]:
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return None, [], {}, frozenset()
    plain, fresh = {}, []
    for f in model._meta.concrete_fields:
        if f.has_default() and callable(f.default):
            fresh.append((f.attname, f.default))
        else:
            plain[f.attname] = f.get_default()
    relations = {f.name: f for f in model._meta.concrete_fields if f.is_relation}
    return plain, fresh, relations, frozenset(plain) | {a for a, _ in fresh} | relations.keys()


def insert(objs: list[models.Model], ids: bool = True) -> None:
    """INSERT the unsaved instances (all of one model) and set their primary keys.

    ids=False: rows nothing refers to afterwards (audit rows, events, an order's lines) take their
    ids from the database as they are written, in the order given, and the instances get none (on
    PostgreSQL one query less per table and batch: no ids drawn first)."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor == "postgresql":
        _copy_postgresql(model, objs, ids)
        return
    fields, sql_head, row_of, auto_now = _plan(model, connection.vendor)
    now = timezone.now()
    derived = blind_indexes(model)
    for obj in objs:
        for name in auto_now:
            setattr(obj, name, now)
        for f in derived:
            f.compute(obj)
    per_chunk = max(1, MAX_PARAMS // len(fields))
    pk_col = connection.ops.quote_name(model._meta.pk.column)
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cur:
        for start in range(0, len(objs), per_chunk):
            chunk = objs[start : start + per_chunk]
            params = [v for o in chunk for v in row_of(o)]
            values = f"{sql_head} VALUES {', '.join([row_sql] * len(chunk))}"
            if not ids:
                cur.execute(values, params)
                continue
            cur.execute(f"{values} RETURNING {pk_col}", params)
            _saved(model, chunk, [pk for (pk,) in cur.fetchall()])


def _copy_postgresql(model: type[models.Model], objs: list[models.Model], with_ids: bool) -> None:
    fields, _, row_of, auto_now = _plan(model, connection.vendor)
    now = timezone.now()
    derived = blind_indexes(model)
    meta, qn = model._meta, connection.ops.quote_name
    cols = ", ".join(qn(c) for c in ([meta.pk.column] if with_ids else []) + [f.column for f in fields])
    with connection.cursor() as cur:
        ids: list = [None] * len(objs)  # without ids: each row's default (the sequence), in row order
        if with_ids:
            cur.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(objs)],
            )
            ids = [row[0] for row in cur.fetchall()]
        # the raw psycopg cursor: wrap its errors as Django's (IntegrityError for a duplicate order)
        with (
            connection.wrap_database_errors,
            cur.cursor.copy(f"COPY {qn(meta.db_table)} ({cols}) FROM STDIN") as copy,
        ):
            for obj, pk in zip(objs, ids, strict=True):
                for name in auto_now:
                    setattr(obj, name, now)
                for f in derived:
                    f.compute(obj)
                copy.write_row([pk, *row_of(obj)] if with_ids else row_of(obj))
    if with_ids:
        _saved(model, objs, ids)


def _saved(model: type[models.Model], objs: list[models.Model], ids: list[int]) -> None:
    """The instances as saved: their primary keys set, their state that of rows in the database."""
    pk, alias = model._meta.pk.attname, connection.alias  # (the connection proxy is slow to ask)
    for obj, value in zip(objs, ids, strict=True):
        setattr(obj, pk, value)
        obj._state.adding, obj._state.db = False, alias


@cache
def _plan(model: type[models.Model], vendor: str) -> tuple[list, str, Callable, list[str]]:
    """The fields written, the INSERT's head, row_of(obj) → the adapted values of those fields, and
    the auto_now fields."""
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    qn = connection.ops.quote_name
    head = f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)})"
    auto_now = [
        f.attname for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    values = attrgetter(*(f.attname for f in fields))  # in C; only the adapted values go through Python
    adapted = [(i, adapt) for i, adapt in enumerate(_adapter(f) for f in fields) if adapt is not None]

    def row_of(obj: models.Model) -> list:
        row = list(values(obj)) if len(fields) > 1 else [values(obj)]
        for i, adapt in adapted:
            row[i] = adapt(row[i])
        return row

    return fields, head, row_of, auto_now


_EMPTY_JSON = {list: "[]", dict: "{}"}  # most flags, tags and splits


def _adapter(field: models.Field) -> Callable | None:
    """How a field's value is written, or None: as it is."""
    ops = connection.ops
    if isinstance(field, EncryptedTextField):
        return field.get_prep_value  # encrypts; before the TextField identity below
    if isinstance(field, models.JSONField):
        encode = (field.encoder or json.JSONEncoder)(ensure_ascii=False).encode  # one, not one a value

        def json_value(v):
            if v is None:
                return None
            return _EMPTY_JSON[type(v)] if not v and type(v) in _EMPTY_JSON else encode(v)

        return json_value
    if isinstance(field, models.DecimalField):
        if type(ops).adapt_decimalfield_value is BaseDatabaseOperations.adapt_decimalfield_value:
            return None  # the driver adapts a Decimal
        return lambda v: (
            None if v is None else ops.adapt_decimalfield_value(v, field.max_digits, field.decimal_places)
        )
    if isinstance(field, models.DateTimeField):
        # the rows of a batch share a few instants (the batch's now, an order's placed/paid times):
        # each converted once (equal instants convert alike, whatever their time zone)
        return lru_cache(maxsize=4096)(ops.adapt_datetimefield_value)
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    if isinstance(field, _IDENTITY) and not isinstance(field, models.JSONField):
        return None
    return lambda v: field.get_db_prep_save(v, connection)
