"""Create the demo trader of the embedded default (idempotent) and print how to sign in."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.roles import make_trader

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-trader-2026"


class Command(BaseCommand):
    help = "Create the demo trader for the embedded default and the sandbox brokers."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo is for development (DEBUG=true); it creates a known login."
            )
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": "demo@example.com"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        make_trader(user)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo trader ready: sign in at {settings.SITE_URL}/accounts/sign-in/ "
                f"as {DEMO_USERNAME} / {DEMO_PASSWORD}"
            )
        )
        self.stdout.write(
            f"API token: make one at {settings.SITE_URL}/accounts/tokens/ or with "
            f'`.venv/bin/python manage.py api_token create {DEMO_USERNAME} --name "my script"`'
        )
