"""Opening a store's database: SQLite (:mod:`.db`) or PostgreSQL (:mod:`.postgres`), by its location."""

from __future__ import annotations

from .db import Database, Location


def open_database(location: Location) -> Database:
    if location.kind == "postgresql":
        from .postgres import PostgresDatabase

        return PostgresDatabase(location)
    return Database(location)
