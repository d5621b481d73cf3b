"""Alembic migrations of the analytics store (see analytics/migrate.py)."""
