import json

from django.core.management.base import BaseCommand

from routing.policy.schema import json_schema


class Command(BaseCommand):
    help = "Print the policy profile's JSON Schema (kept in routing/policy/policy.schema.json)."

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(json_schema(), indent=2, ensure_ascii=False))
