"""Local storage: SQLite through SQLAlchemy Core, Alembic migrations, one writer thread.

``open_database(data_dir)`` checks, backs up and migrates the database file, then returns a
``Database`` whose ``writer`` does every write; reads may come from any thread.
"""

from __future__ import annotations

from .db import SCHEMA_VERSION, Database, open_database
from .paths import DB_FILENAME, resolve_data_dir
from .writer import DatabaseWriter

__all__ = [
    "DB_FILENAME",
    "SCHEMA_VERSION",
    "Database",
    "DatabaseWriter",
    "open_database",
    "resolve_data_dir",
]
