"""Persistence at the edge: SQLAlchemy models, engine and units of work, migrations, bulk
inserts, the single-instance lock."""
