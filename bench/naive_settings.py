"""Production settings plus the benchmark-only naive menu view (scenario (c) of bench.catalog)."""

from kiosk_project.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.naive_catalog"
