"""Make, list and revoke a trader's API tokens from the shell.

    manage.py api_token create <username> --name "nightly export" [--days 30]
    manage.py api_token list <username>
    manage.py api_token revoke <username> <first characters as listed>

``create`` prints the token once; only its digest is stored.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import SHOWN
from accounts.roles import is_trader
from accounts.services import TooManyTokens, api_tokens, issue_api_token, revoke_api_token


class Command(BaseCommand):
    help = "Make, list or revoke a trader's API tokens."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="make a token and print it once")
        create.add_argument("username")
        create.add_argument("--name", required=True, help="what will use it")
        create.add_argument("--days", type=int, help="how long it works (default API_TOKEN_DAYS)")
        listing = actions.add_parser("list", help="the user's tokens, by their first characters")
        listing.add_argument("username")
        revoke = actions.add_parser("revoke", help="revoke one token")
        revoke.add_argument("username")
        revoke.add_argument("token", help="its first characters, as `list` shows them")

    def handle(self, *args, action, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user {username!r}.")
        if action == "create":
            self._create(user, options["name"].strip(), options["days"])
        elif action == "list":
            self._list(user)
        else:
            self._revoke(user, options["token"].rstrip("…").strip())

    def _create(self, user, name, days):
        if not is_trader(user):
            raise CommandError(f"{user.username} is not a trader: the API is for trader accounts.")
        if not name or len(name) > 60:
            raise CommandError("--name must be 1 to 60 characters.")
        if days is not None and not 1 <= days <= 3650:
            raise CommandError("--days must be between 1 and 3650.")
        try:
            record, key = issue_api_token(user=user, name=name, days=days)
        except TooManyTokens as refused:
            raise CommandError(str(refused)) from None
        self.stdout.write(key)
        self.stderr.write(
            f"Token {record.prefix} for {user.username}, valid until "
            f"{timezone.localtime(record.expiry):%d %b %Y %H:%M %Z}. "
            "Copy it now: it is not shown again."
        )

    def _list(self, user):
        now = timezone.now()
        for token in api_tokens(user):
            state = "expired" if token.expiry and token.expiry <= now else "valid"
            until = f"{timezone.localtime(token.expiry):%Y-%m-%d %H:%M}" if token.expiry else "-"
            self.stdout.write(f"{token.prefix}\t{token.name}\t{state} until {until}")

    def _revoke(self, user, shown):
        enough = len(shown) >= SHOWN  # a few characters could name several tokens
        matches = [t for t in api_tokens(user) if enough and t.token_key.startswith(shown)]
        if len(matches) != 1:
            raise CommandError(
                f"{user.username} has no token starting with {shown!r} "
                "(give the first characters as `list` shows them)."
            )
        revoke_api_token(user=user, token_key=matches[0].token_key)
        self.stdout.write(f"Revoked {matches[0].prefix} ({matches[0].name}).")
