"""Model fields that keep secrets sealed by the vault.

The column holds only ciphertext. The attribute on the model holds the plaintext: it is opened
lazily on first access (so a row whose secret cannot be opened still loads, lists and saves its
other columns) and sealed again, bound to its row, whenever the row is written.
"""

from django.db import models
from django.db.models.query_utils import DeferredAttribute

from brokers import vault


class _Sealed(str):
    """A value read from the column: ciphertext, never to be shown as the secret."""


class _SealedAttribute(DeferredAttribute):
    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        data = instance.__dict__
        name = self.field.attname
        if name not in data:
            return super().__get__(instance, cls)
        value = data[name]
        if isinstance(value, _Sealed):
            value = vault.open_sealed(value, self.field.binding(instance))
            data[name] = value
        return value

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    """A secret: AES-256-GCM sealed, bound to table, row and field. Blank means "not set"."""

    descriptor_class = _SealedAttribute

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs["editable"] = False
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def binding(self, instance) -> vault.Binding:
        return vault.Binding(self.model._meta.db_table, str(instance.pk), self.column)  # type: ignore[arg-type]

    def from_db_value(self, value, expression, connection):
        return _Sealed(value) if value else ""

    def pre_save(self, model_instance, add):
        value = model_instance.__dict__.get(self.attname, "")
        if isinstance(value, _Sealed) or not value:
            return str(value or "")
        if model_instance.pk is None:
            # The seal is bound to the row: its key must exist before the first write.
            raise ValueError(f"{self.model.__name__} needs a client-side primary key (UUID)")
        return vault.seal(value, self.binding(model_instance))

    def get_prep_value(self, value):
        # Lookups on a secret are meaningless (each seal is different); refuse loudly.
        if value and not isinstance(value, _Sealed) and not str(value).startswith(vault.PREFIX):
            raise TypeError("secrets cannot be used in queries")
        return super().get_prep_value(value)

    def is_set(self, instance) -> bool:
        return bool(instance.__dict__.get(self.attname))
