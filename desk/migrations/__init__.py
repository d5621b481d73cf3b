"""Alembic migrations of the desk database (see desk/migrate.py)."""
