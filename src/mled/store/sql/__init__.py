"""SQLAlchemy Core implementation of the metadata store (SQLite and PostgreSQL)."""
