"""Re-seal every secret under the first key of FIELD_ENCRYPTION_KEYS.

All or nothing: if any secret cannot be opened with the configured keys, nothing is changed
and the command names the rows, so an operator never removes a key that is still needed.
"""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from brokers import vault
from brokers.fields import EncryptedTextField


def _encrypted_fields():
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            yield model, fields


class Command(BaseCommand):
    help = "Re-encrypt every stored secret under the first key of FIELD_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        current = vault.current_key_id()
        counts = {"re-encrypted": 0, "already current": 0, "empty": 0}
        failures: list[str] = []
        with transaction.atomic():
            for model, fields in _encrypted_fields():
                columns = [f.column for f in fields]
                rows = model.objects.values_list("pk", *columns).iterator(chunk_size=500)
                for pk, *sealed_values in rows:
                    updates = {}
                    for field, sealed in zip(fields, sealed_values, strict=True):
                        if not sealed:
                            counts["empty"] += 1
                            continue
                        binding = vault.Binding(model._meta.db_table, str(pk), field.column)
                        try:
                            plaintext = vault.open_sealed(sealed, binding)
                        except vault.VaultError as error:
                            failures.append(str(error))
                            continue
                        if vault.sealed_key_id(sealed) == current:
                            counts["already current"] += 1
                            continue
                        updates[field.column] = vault.seal(plaintext, binding)
                        counts["re-encrypted"] += 1
                    if updates:
                        model.objects.filter(pk=pk).update(**updates)
            if failures:
                transaction.set_rollback(True)
                shown = "\n  ".join(failures[:20])
                raise CommandError(
                    f"{len(failures)} secret(s) cannot be opened with FIELD_ENCRYPTION_KEYS; "
                    f"nothing was changed. Add back the key that sealed them:\n  {shown}"
                )
        self.stdout.write(
            self.style.SUCCESS(
                f"Sealed under key {current}: {counts['re-encrypted']} re-encrypted, "
                f"{counts['already current']} already current, {counts['empty']} empty."
            )
        )
