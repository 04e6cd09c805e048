"""Persistence at the edge: SQLAlchemy models, engine, migrations."""
