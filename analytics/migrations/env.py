"""Alembic environment of the analytics store: its own version table (see analytics/migrate.py)."""

from analytics.migrate import VERSION_TABLE
from analytics.store import metadata
from service_common.migrations import run_env

run_env(metadata, VERSION_TABLE)
