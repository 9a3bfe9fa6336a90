"""The platform's own API tokens: django-rest-knox's token model, with a name.

Only a SHA-512 digest of a token is stored (knox), with its first characters (``token_key``,
which knox looks rows up by and which is all that pages, admin and the command ever show)
and an expiry. The token itself is shown once, when it is made.
"""

from django.db import models
from knox.models import AbstractAuthToken

SHOWN = 12  # characters of a token shown to recognise it: "mbt_" and 8 of its 64 hex digits


class ApiToken(AbstractAuthToken):
    name = models.CharField(max_length=60, help_text="What uses it, to recognise it later.")

    class Meta:
        db_table = "api_tokens"
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def prefix(self) -> str:
        return self.token_key[:SHOWN] + "…"
