"""The product's settings with bench.today's URL beside the product's (benchmarks only)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.today"
