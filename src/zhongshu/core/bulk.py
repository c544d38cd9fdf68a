"""Multi-row INSERT … RETURNING for the intake's hot path.

Django's bulk_create sends every value through the generic SQL compiler (about 10 µs a value, the
largest cost of a batch import). This inserts the same model instances with one adapter per field
chosen once, in chunks, and sets their primary keys, like bulk_create on SQLite ≥ 3.35 and
PostgreSQL. Only for plain models: no multi-table inheritance, no signals expected.
"""

from collections.abc import Callable
from functools import cache

from django.db import connection, models
from django.utils import timezone

MAX_PARAMS = 30_000  # SQLite ≥ 3.32 allows 32,766 bound parameters; PostgreSQL 65,535

_IDENTITY = (models.CharField, models.TextField, models.IntegerField, models.BooleanField, models.ForeignKey)


def insert(objs: list[models.Model]) -> None:
    """INSERT the unsaved instances (all of one model) and set their primary keys."""
    if not objs:
        return
    model = type(objs[0])
    fields, sql_head, adapters, auto_now = _plan(model, connection.vendor)
    now = timezone.now()
    for obj in objs:
        for name in auto_now:
            setattr(obj, name, now)
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


def _adapter(field: models.Field) -> Callable:
    ops = connection.ops
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
