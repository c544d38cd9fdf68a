"""Model fields for personal data at rest: text stored encrypted, and keyed-hash blind indexes of it.

Code works with clear values in memory (an EncryptedTextField reads back decrypted); the database
holds only ciphertext, and searches and "same phone/address" counts go through the blind indexes.
Every way the hub writes rows keeps the indexes in step: Model.save and bulk_create (pre_save),
core.bulk.insert, and bulk_update of a model whose manager is IndexedQuerySet.as_manager().
"""

from collections.abc import Callable
from functools import cache

from django.db import models

from zhongshu.core import crypto, pii

BLIND_INDEXES: dict[str, Callable[[str], str]] = {
    "phone": pii.phone_hash,
    "phone_tail": pii.phone_tail_hash,
    "address": pii.address_hash,
    "name": pii.name_hash,
}


class EncryptedTextField(models.TextField):
    """Text sealed with AES-GCM (core.crypto.seal) on the way to the database, opened on the way back.

    A ciphertext differs on every write, so no lookup but `isnull` is offered: filtering by the clear
    value would silently match nothing. Search through a BlindIndexField instead.
    """

    def from_db_value(self, value, expression, connection):
        return value if value is None else crypto.unseal(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value is None else crypto.seal(value)

    def get_lookup(self, lookup_name):
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None


class BlindIndexField(models.CharField):
    """The keyed hash (core.pii) of another field's clear value, computed whenever the row is written."""

    def __init__(self, *args, source: str = "", kind: str = "", **kwargs):
        if kind not in BLIND_INDEXES:
            raise ValueError(f"unknown blind index kind {kind!r}; one of {', '.join(BLIND_INDEXES)}")
        self.source, self.kind = source, kind
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.update(source=self.source, kind=self.kind)
        return name, path, args, kwargs

    def compute(self, instance: models.Model) -> str:
        source = getattr(instance, self.source) or ""
        # (clear value, its hash): intake indexes new orders, then writes them; hash once per value
        memo = instance.__dict__.get(self._memo)
        if memo is None or memo[0] != source:
            memo = instance.__dict__[self._memo] = (source, BLIND_INDEXES[self.kind](source))
        setattr(instance, self.attname, memo[1])
        return memo[1]

    def contribute_to_class(self, cls, name, private_only=False):
        super().contribute_to_class(cls, name, private_only)
        self._memo = f"_{name}_of"

    def pre_save(self, model_instance, add):
        return self.compute(model_instance)


@cache
def blind_indexes(model: type[models.Model]) -> list[BlindIndexField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, BlindIndexField)]


def index(instance: models.Model) -> None:
    """Compute an instance's blind indexes now (before a write, or to compare instances in memory)."""
    for f in blind_indexes(type(instance)):
        f.compute(instance)


def with_indexes(model: type[models.Model], fields) -> list[str]:
    """Field names to write, plus the blind indexes of those among them that are indexed."""
    names = list(fields)
    return names + [f.name for f in blind_indexes(model) if f.source in names and f.name not in names]


class IndexedModel(models.Model):
    """save(update_fields=[…]) writing an indexed field writes its blind index too."""

    class Meta:
        abstract = True

    def save(self, *args, update_fields=None, **kwargs):
        if update_fields is not None:
            update_fields = with_indexes(type(self), update_fields)
        super().save(*args, update_fields=update_fields, **kwargs)


class IndexedQuerySet(models.QuerySet):
    """bulk_update writes and computes the blind indexes of the indexed fields it writes (Django's
    bulk_update calls no pre_save)."""

    def bulk_update(self, objs, fields, batch_size=None):
        objs, fields = list(objs), with_indexes(self.model, fields)
        derived = [f for f in blind_indexes(self.model) if f.name in fields]
        for obj in objs:
            for f in derived:
                f.compute(obj)
        return super().bulk_update(objs, fields, batch_size=batch_size)
