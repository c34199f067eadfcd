"""Alembic migrations of the store (env.py, the revision template, versions/)."""
