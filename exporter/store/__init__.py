"""Persistence: the store (SQLite or PostgreSQL, store/backend.py), the CSV importer, leader election."""
