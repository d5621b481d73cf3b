"""Alembic environment of the assistant's ledger: its own version table (see actions/migrate.py)."""

from actions.migrate import VERSION_TABLE
from actions.playbook import metadata
from service_common.migrations import run_env

run_env(metadata, VERSION_TABLE)
