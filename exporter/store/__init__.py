"""Persistence: the SQLite store (the only user of sqlite3) and the CSV importer."""
