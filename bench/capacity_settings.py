"""Production settings plus the benchmark-only floor view (bench.floor), for bench.capacity."""

from kiosk_project.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.floor"
