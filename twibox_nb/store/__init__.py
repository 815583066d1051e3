"""The metric store: history on SQLite or PostgreSQL."""
