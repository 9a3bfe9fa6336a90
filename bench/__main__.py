"""Run every benchmark module in bench/ (or the ones named on the command line)."""

import importlib
import os
import pkgutil
import sys

import django


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from bench.server import isolated_database

    # Benchmarks never write into the development database: a fresh SQLite file each run,
    # unless DATABASE_URL names one on purpose.
    isolated_database()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--no-input", verbosity=0)
    import bench

    names = argv or sorted(
        m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_")
    )
    if not names:
        print("no benchmarks yet")
        return 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name}: {module.__doc__.strip().splitlines()[0] if module.__doc__ else ''}")
        module.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
