"""Fast INSERT of many model instances for the intake's hot path; sets their primary keys.

Django's bulk_create sends every value through the generic SQL compiler (about 10 µs a value, the
largest cost of a batch import). Here each field gets one adapter chosen once, and:
- SQLite: multi-row INSERT … RETURNING id, in chunks under the bound-parameter limit;
- PostgreSQL: ids drawn from the table's sequence, then COPY FROM STDIN (psycopg's C copy),
  avoiding a statement with tens of thousands of placeholders that the driver would have to parse.
Personal data goes through its fields: an EncryptedTextField's value is encrypted by the field, and
blind indexes (BlindIndexField) are computed from the clear values before the rows are written.
Only for plain models: no multi-table inheritance, no signals expected.
"""

import json
from collections.abc import Callable
from functools import cache

from django.db import connection, models
from django.utils import timezone

from zhongshu.core.fields import BlindIndexField, EncryptedTextField, blind_indexes

MAX_PARAMS = 30_000  # SQLite ≥ 3.32 allows 32,766 bound parameters; PostgreSQL 65,535

_IDENTITY = (models.CharField, models.TextField, models.IntegerField, models.BooleanField, models.ForeignKey)


def insert(objs: list[models.Model]) -> None:
    """INSERT the unsaved instances (all of one model) and set their primary keys."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor == "postgresql":
        _copy_postgresql(model, objs)
        return
    fields, sql_head, adapters, auto_now = _plan(model, connection.vendor)
    now = timezone.now()
    derived = _derived(model)
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
            params = [
                adapt(getattr(o, f.attname)) for o in chunk for f, adapt in zip(fields, adapters, strict=True)
            ]
            cur.execute(f"{sql_head} VALUES {', '.join([row_sql] * len(chunk))} RETURNING {pk_col}", params)
            for obj, (pk,) in zip(chunk, cur.fetchall(), strict=True):
                obj.pk = pk
                obj._state.adding, obj._state.db = False, connection.alias


def _copy_postgresql(model: type[models.Model], objs: list[models.Model]) -> None:
    fields, _, adapters, auto_now = _plan(model, connection.vendor)
    now = timezone.now()
    derived = _derived(model)
    meta, qn = model._meta, connection.ops.quote_name
    cols = ", ".join(qn(c) for c in [meta.pk.column] + [f.column for f in fields])
    with connection.cursor() as cur:
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
                copy.write_row(
                    [pk, *(adapt(getattr(obj, f.attname)) for f, adapt in zip(fields, adapters, strict=True))]
                )
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, connection.alias


@cache
def _plan(model: type[models.Model], vendor: str) -> tuple[list, str, list[Callable], list[str]]:
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    qn = connection.ops.quote_name
    head = f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)})"
    auto_now = [
        f.attname for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    return fields, head, [_adapter(f) for f in fields], auto_now


@cache
def _derived(model: type[models.Model]) -> list[BlindIndexField]:
    return blind_indexes(model)


def _adapter(field: models.Field) -> Callable:
    ops = connection.ops
    if isinstance(field, EncryptedTextField):
        return field.get_prep_value  # encrypts; before the TextField identity below
    if isinstance(field, models.JSONField):
        return lambda v: None if v is None else json.dumps(v, cls=field.encoder, ensure_ascii=False)
    if isinstance(field, models.DecimalField):
        return lambda v: (
            None if v is None else ops.adapt_decimalfield_value(v, field.max_digits, field.decimal_places)
        )
    if isinstance(field, models.DateTimeField):
        return ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    if isinstance(field, _IDENTITY) and not isinstance(field, models.JSONField):
        return lambda v: v
    return lambda v: field.get_db_prep_save(v, connection)
