"""Helpers for the tests that run on both store backends (the ``store_target`` fixture in
conftest.py gives a SQLite path or a PostgreSQL URL)."""

import sqlite3

from exporter.config.redact import redact_userinfo


def is_pg(target):
    return target.startswith("postgresql://")


def storage_args(target):
    """The command-line flag naming a store."""
    return ["--storage.url", target] if is_pg(target) else ["--storage.path", target]


def shown(target):
    """A store's name as messages show it (without credentials)."""
    return redact_userinfo(target)


def raw_sql(target, *statements):
    """Run ``(sql, params)`` statements (``?`` placeholders) on a store behind sla-exporter's
    back, in one transaction: tampering, for the tests that must catch it."""
    if target.startswith("postgresql://"):
        import psycopg

        from exporter.store.backend import _pg_sql

        with psycopg.connect(target) as con:
            for sql, params in statements:
                con.execute(_pg_sql(sql), params or None)
        return
    con = sqlite3.connect(target)
    with con:
        for sql, params in statements:
            con.execute(sql, params)
    con.close()


def query(target, sql, params=()):
    """The rows of one query on a store (either backend)."""
    if target.startswith("postgresql://"):
        import psycopg

        from exporter.store.backend import _pg_sql

        with psycopg.connect(target) as con:
            return [tuple(r) for r in con.execute(_pg_sql(sql), params or None).fetchall()]
    con = sqlite3.connect(target)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()
