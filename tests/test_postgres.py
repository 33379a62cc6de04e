"""The store on PostgreSQL with real processes: the command line with --storage.url end to end
(the same figures as on SQLite), several writers at once on one database, and the leader
that runs incident detection (kill -9 it: another takes over within the retry interval).

The store's own suites (test_store, test_importer, test_chain, the ledger in
test_corrections) run on both backends through the ``store_target`` fixture."""

import json
import signal
import subprocess
import sys
import time

import pytest

from exporter.store.sqlite import Store
from realproc import Exporter, config_for
from stores import shown
from worked_month import CONFIG, write_month


def cli(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "exporter", *args], capture_output=True, text=True, timeout=300, **kwargs
    )


# -- the command line -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def both(tmp_path_factory, postgresql):
    """The worked month imported into a SQLite file and a PostgreSQL database."""
    d = tmp_path_factory.mktemp("pg-e2e")
    (d / "config.yaml").write_text(CONFIG)
    write_month(d / "october.csv")
    stores = {"sqlite": ["--storage.path", str(d / "sla.db")], "postgresql": ["--storage.url", postgresql.url()]}
    imported = {
        name: cli("import", "--config.file", str(d / "config.yaml"), *flag, str(d / "october.csv"))
        for name, flag in stores.items()
    }
    return d, stores, imported


def test_import_into_postgresql_says_what_it_did(both):
    _, stores, imported = both
    for name, out in imported.items():
        assert out.returncode == 0, (name, out.stderr)
    url = stores["postgresql"][1]
    sqlite_line, pg_line = (imported[n].stdout.strip() for n in ("sqlite", "postgresql"))
    assert pg_line.endswith(f"series written to {shown(url)}")
    assert pg_line.removesuffix(shown(url)) == sqlite_line.removesuffix(stores["sqlite"][1])


@pytest.mark.parametrize(
    "verb",
    [
        ["report", "--month", "2026-10", "--format", "json"],
        ["report", "--month", "2026-10", "--format", "csv"],
        ["export", "--month", "2026-10", "--format", "openmetrics", "--step", "1h"],
    ],
    ids=["report json", "report csv", "export openmetrics"],
)
def test_reports_and_exports_are_the_same_on_both_stores(both, verb):
    d, stores, _ = both
    out = {
        name: cli(verb[0], "--config.file", str(d / "config.yaml"), *flag, *verb[1:]) for name, flag in stores.items()
    }
    for name, o in out.items():
        assert o.returncode == 0, (name, o.stderr)
    assert out["sqlite"].stdout == out["postgresql"].stdout
    assert len(out["postgresql"].stdout) > 200
    if verb[1:3] == ["--month", "2026-10"] and "json" in verb:
        assert json.loads(out["postgresql"].stdout)["tenants"]


def test_verify_a_postgresql_store(both):
    _, stores, _ = both
    out = {name: cli("verify", *flag) for name, flag in stores.items()}
    assert out["postgresql"].returncode == 0, out["postgresql"].stderr
    assert out["postgresql"].stdout.startswith(f"{shown(stores['postgresql'][1])}: OK: 16 history records of 4 probes")
    assert out["postgresql"].stdout.removeprefix(shown(stores["postgresql"][1])) == out["sqlite"].stdout.removeprefix(
        stores["sqlite"][1]
    )


def test_an_evidence_bundle_from_postgresql_verifies(both):
    d, stores, _ = both
    bundle = str(d / "oct.tar.gz")
    out = cli("evidence", "--config.file", str(d / "config.yaml"), *stores["postgresql"], "--month", "2026-10",
              "--output", bundle)  # fmt: skip
    assert out.returncode == 0, out.stderr
    checked = cli("verify", bundle)
    assert checked.returncode == 0, checked.stderr
    assert "the report of 2026-10 (acme-prod, beta-test) is reproduced from its history" in checked.stdout


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--storage.path", "x.db", "--storage.url", "postgresql://a@h/db"], 2, "not allowed with argument"),
        (["--storage.url", "mysql://u:hunter2@h/db"], 2, "expected postgresql://USER:PASS@HOST:PORT/DB"),
        (["--storage.url", "postgresql://u:hunter2@127.0.0.1:1/db"], 1, "postgresql://127.0.0.1:1/db: cannot connect"),
    ],
)
def test_storage_url_mistakes_are_one_line_without_the_password(tmp_path, args, code, message):
    pytest.importorskip("psycopg")
    (tmp_path / "c.yaml").write_text(CONFIG)
    out = cli("report", "--config.file", str(tmp_path / "c.yaml"), "--month", "2026-10", *args)
    assert out.returncode == code
    assert message in out.stderr
    assert "hunter2" not in out.stderr + out.stdout
    if code == 1:
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_a_missing_postgresql_store_is_refused_when_not_creating(postgresql):
    url = postgresql.url()
    out = cli("verify", "--storage.url", url)
    assert out.returncode == 1
    assert f"{shown(url)}: no such store" in out.stderr


# -- several writers on one database ----------------------------------------------------------

PROBES = 6


def _csv(path, probes, rows):
    lines = ["time,tenant,probe,success"]
    t0 = 1_790_812_800  # 2026-10-01T00:00:00Z
    for i in range(rows):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + 60 * i))
        for p in probes:
            lines.append(f"{stamp},acme,{p},{0 if (i // 97) % 5 == 0 else 1}")
    path.write_text("\n".join(lines) + "\n")


def test_concurrent_imports_of_different_and_shared_probes(tmp_path, postgresql):
    """Three processes import at once into one database: two sets of their own probes and
    one probe all of them import (the same rows). Nothing is lost or doubled, nothing
    deadlocks, the chains verify."""
    url = postgresql.url()
    cfg = "timezone: UTC\ntenants:\n  - name: acme\n    probes:\n" + "".join(
        f'      - {{name: {p}, url: "https://x.example/{p}", interval: 60s}}\n'
        for p in [*(f"p{i}" for i in range(PROBES)), "shared"]
    )
    (tmp_path / "c.yaml").write_text(cfg)
    files = []
    for w in range(3):
        own = [f"p{i}" for i in range(PROBES) if i % 3 == w]
        files.append(tmp_path / f"w{w}.csv")
        _csv(files[-1], [*own, "shared"] if w % 2 else ["shared", *own], 5000)
    _csv(tmp_path / "alone.csv", [*(f"p{i}" for i in range(PROBES)), "shared"], 5000)
    argv = [sys.executable, "-m", "exporter", "import", "--config.file", str(tmp_path / "c.yaml"), "--storage.url", url]
    procs = [
        subprocess.Popen([*argv, str(f)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in files
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
    # The same history as one process importing every row into a store of its own.
    alone = cli("import", "--config.file", str(tmp_path / "c.yaml"), "--storage.path", str(tmp_path / "a.db"),
                str(tmp_path / "alone.csv"))  # fmt: skip
    assert alone.returncode == 0, alone.stderr
    with Store(url, create=False) as pg, Store(str(tmp_path / "a.db"), create=False) as lite:
        for p in [*(f"p{i}" for i in range(PROBES)), "shared"]:
            assert pg.series("acme", p, 0, 2**62) == lite.series("acme", p, 0, 2**62), p
        assert pg.verify_chains()[0] is None
        assert [h.head for h in pg.chain_heads()] == [h.head for h in lite.chain_heads()]


def test_concurrent_ledger_and_incident_writers_get_distinct_ids(postgresql):
    """Two stores (two connections, as two exporters) append corrections and numbered
    incidents from threads at once: every id is taken once, the ledger's chain verifies."""
    import threading

    from exporter.model import Incident, LedgerEntry

    url = postgresql.url()
    Store(url).close()
    ids: list = []

    def write(n):
        with Store(url) as s:
            for i in range(n):
                entry = LedgerEntry(0, "correction", "acme", "r", "me", i, 0, 1000, "up", "other", None)
                ids.append(("ledger", s.add_correction(entry)))
                ids.append(("incident", s.add_numbered(Incident("", "acme", "P2", float(i)), "INC").id))

    threads = [threading.Thread(target=write, args=(15,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 90 and len(set(ids)) == 90
    with Store(url) as s:
        assert s.verify_ledgers() == (None, 45)
        assert len(s.incidents()) == 45


# -- the leader -------------------------------------------------------------------------------

RETRY = 1  # seconds: SLA_EXPORTER_LEADER_RETRY for these exporters (15 s by default)


def test_the_leader_detects_and_another_takes_over_after_kill_9(tmp_path, postgresql, target):
    """Two exporters of one shard on one database: one leads (detects incidents), the other
    does not; kill -9 the leader and the other leads within the retry interval, and resolves
    the incident the first one opened. They are replicas: the same probe from two
    locations (replicas of one location would write the same history keys)."""
    url = postgresql.url()
    support = "\nsupport:\n  api: {token_env: SLA_TEST_TOKEN}\n"
    exporters = []
    for name in ("a", "b"):
        d = tmp_path / name
        d.mkdir()
        e = Exporter(d, config_for(target.url) + support)
        e.storage = ["--storage.url", url]
        e.extra_args = ["--location", name]
        exporters.append(e)
    a, b = exporters
    env = {"SLA_EXPORTER_LEADER_RETRY": str(RETRY), "SLA_TEST_TOKEN": "t"}
    try:
        a.start(env=env)
        a.wait_for(lambda: a.value("sla_exporter_leader") == 1, what="a leads")
        b.start(env=env)
        b.wait_for(lambda: b.value("sla_exporter_leader") == 0, what="b follows")
        target.healthy = False
        a.wait_for(
            lambda: a.value("sla_support_incidents_open", tenant="acme", priority="P1", source="detected") == 1,
            what="a detected incident",
        )
        time.sleep(3 * RETRY)  # b sees the same outage meanwhile: it must not open one of its own
        assert b.value("sla_exporter_leader") == 0
        a.stop(signal.SIGKILL)
        killed = time.monotonic()
        b.wait_for(lambda: b.value("sla_exporter_leader") == 1, timeout=10 * RETRY + 10, what="b leads")
        took_over = time.monotonic() - killed
        target.healthy = True
        b.wait_for(
            lambda: b.value("sla_support_incidents_open", tenant="acme", priority="P1", source="detected") is None,
            what="b resolves the incident a opened",
        )
    finally:
        for e in exporters:
            e.stop(signal.SIGKILL)
    assert took_over < 2 * RETRY + 5
    with Store(url, create=False) as s:
        detected = [i for i in s.incidents() if i.source == "detected"]
        assert s.locations("acme", "ui") == ["a", "b"]  # each replica's history under its own key
    assert len(detected) == 1, detected
    assert [e.kind for e in detected[0].events] == ["resolution"]


@pytest.mark.parametrize(
    "env, expected",
    [({}, 15.0), ({"SLA_EXPORTER_LEADER_RETRY": "0.5"}, 0.5), ({"SLA_EXPORTER_LEADER_RETRY": "soon"}, 15.0),
     ({"SLA_EXPORTER_LEADER_RETRY": "0"}, 15.0), ({"SLA_EXPORTER_LEADER_RETRY": "-3"}, 15.0)],
)  # fmt: skip
def test_the_leader_retry_interval(env, expected):
    from exporter.store.leader import retry_interval

    assert retry_interval(env) == expected


def test_every_exporter_on_sqlite_is_its_own_leader(tmp_path):
    from exporter.store.leader import Leader

    leader = Leader(str(tmp_path / "sla.db"), (1, 3))
    leader.start()
    assert leader.held is True and leader._thread is None
    leader.stop()
    assert leader.held is True


def test_one_schema_on_both_backends(tmp_path, postgresql):
    """The same tables and columns, in the same order, whichever backend migrated them."""
    import sqlite3

    import psycopg

    url, path = postgresql.url(), str(tmp_path / "sla.db")
    Store(url).close()
    Store(path).close()
    con = sqlite3.connect(path)
    tables = [
        r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    ]
    lite = {t: [r[1] for r in con.execute(f"PRAGMA table_info({t})")] for t in tables}
    con.close()
    with psycopg.connect(url) as pg:
        rows = pg.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name <> 'schema_version' AND column_name <> 'rowid' ORDER BY table_name, ordinal_position"
        ).fetchall()
    pg_tables: dict = {}
    for table, column in rows:
        pg_tables.setdefault(table, []).append(column)
    assert pg_tables == lite
    assert set(lite) == {
        "probes", "series", "incidents", "incident_events", "service_requests", "corrections", "write_counts"
    }  # fmt: skip


def test_shards_share_one_database_and_each_leads_its_own(tmp_path, postgresql, target):
    """--shard 0/2 and 1/2 on one database: each probes and records its own tenants (a
    duration sample only for those), leads its shard (the lock is per shard), and serves
    every tenant's figures and last result, the other shard's read from the store."""
    from exporter.probing.sharding import shard_of

    url = postgresql.url()
    names = [f"t{i}" for i in range(6)]
    tenants = "".join(
        f'  - name: {n}\n    probes:\n      - {{name: ui, url: "{target.url}/health", interval: 1s, timeout: 1s}}\n'
        for n in names
    )
    exporters = []
    for i in range(2):
        d = tmp_path / f"s{i}"
        d.mkdir()
        e = Exporter(d, f"timezone: UTC\ntenants:\n{tenants}")
        e.storage = ["--storage.url", url]
        e.extra_args = ["--shard", f"{i}/2"]
        exporters.append(e)

    def get(m, name, **labels):
        return m.get((name, tuple(sorted(labels.items()))))

    def serves_every_tenant(m, up):
        return all(
            get(m, "sla_up", tenant=n) == up
            and get(m, "sla_probe_success", tenant=n, probe="ui", location="default") == up
            and get(m, "sla_availability_ratio", tenant=n) is not None
            for n in names
        )

    env = {"SLA_EXPORTER_LEADER_RETRY": str(RETRY), "SLA_EXPORTER_FEED_INTERVAL": "0.2"}
    try:
        for e in exporters:
            e.start(env=env)
        for i, e in enumerate(exporters):
            e.wait_for(lambda e=e: e.value("sla_exporter_leader") == 1, what=f"shard {i} leads")
            mine = {n for n in names if shard_of(n, 2) == i}
            assert mine and mine != set(names)
            m = e.wait_for(
                lambda e=e: m if serves_every_tenant(m := e.metrics(), 1) else None,
                what=f"shard {i} serves every tenant",
            )
            assert all(get(m, "sla_availability_ratio", tenant=n) == 1.0 for n in names)
            probed = {
                n for n in names if get(m, "sla_probe_duration_seconds", tenant=n, probe="ui", location="default")
            }
            assert probed == mine
        with Store(url, create=False) as s:
            exporters[0].wait_for(
                lambda: all(s.first_start(n, "ui") is not None for n in names), what="every tenant's history stored"
            )
        # The target fails: each shard sees the other shard's tenants go down too.
        target.healthy = False
        for i, e in enumerate(exporters):
            e.wait_for(lambda e=e: serves_every_tenant(e.metrics(), 0), what=f"shard {i} sees every tenant down")
    finally:
        for e in exporters:
            e.stop(signal.SIGKILL)


def test_after_a_server_restart_the_next_transaction_reconnects(postgresql):
    """A failover or restart ends the session: the write under way fails (the daemon keeps
    its results for the next group commit), the next one reconnects and writes."""
    import os

    import psycopg

    from exporter.engine.states import Series
    from pgserver import PostgreSQL

    server = PostgreSQL().start()  # a cluster of its own: the session's keeps serving the others
    try:
        with Store(server.url()) as s:
            s.save_series([("a", "p", Series(True, 0, 1000, 5))])
            pg_ctl = os.path.join(server.bindir, "pg_ctl")
            options = (
                f"-c listen_addresses=127.0.0.1 -c port={server.port} -c unix_socket_directories={server.dir} "
                "-c fsync=off"
            )
            server._run(pg_ctl, "-D", server.data, "-m", "fast", "-w", "stop")
            server._run(pg_ctl, "-D", server.data, "-l", os.path.join(server.dir, "log"), "-o", options, "-w", "start")
            with pytest.raises(psycopg.OperationalError):  # AdminShutdown: the session was ended
                s.save_series([("a", "p", Series(True, 0, 1000, 6))])
            s.save_series([("a", "p", Series(True, 0, 1000, 7))])
            assert s.series("a", "p", 0, 10**6) == [Series(True, 0, 1000, 7)]
            assert s.verify_chains()[0] is None
    finally:
        server.stop()


@pytest.mark.parametrize(
    "sql, params, expected",
    [
        ("SELECT ? + ?", (1, 2), ("SELECT %s + %s", [1, 2])),
        ("SELECT ?2 - ?1, ?1", (5, 9), ("SELECT %s - %s, %s", [9, 5, 5])),
        ("SELECT '100%' || ?", ("x",), ("SELECT '100%%' || %s", ["x"])),
        (
            "SELECT 1 FROM p AS a CROSS JOIN s AS b ON b.x = a.id WHERE ?1",
            (7,),
            ("SELECT 1 FROM p AS a JOIN s AS b ON b.x = a.id WHERE %s", [7]),
        ),
    ],
)
def test_placeholders_for_postgresql(sql, params, expected):
    from exporter.store.backend import _pg_query

    text, order = _pg_query(sql)
    assert (text, [params[i] for i in order] if order is not None else list(params)) == expected


def test_numbered_placeholders_run_on_postgresql(postgresql):
    with Store(postgresql.url()) as s:
        assert s.db.execute("SELECT CAST(?2 AS INT) - CAST(?1 AS INT), CAST(?1 AS INT)", (5, 9)).fetchone() == (4, 5)


def test_in_transaction_on_both_backends(store_target):
    with Store(store_target) as s:
        assert s.db.in_transaction is False
        with s.snapshot():
            assert s.db.in_transaction is True
        assert s.db.in_transaction is False


@pytest.mark.parametrize("round_", range(4))
def test_exporters_starting_together_migrate_once(postgresql, round_):
    """Six stores opened at once on a new database (six exporters started together): one
    creates the schema, the others wait for it and find it done."""
    import threading

    url = postgresql.url()
    errors: list = []
    start = threading.Barrier(6)

    def open_store():
        start.wait()
        try:
            Store(url).close()
        except Exception as err:  # noqa: BLE001 - collected for the assertion
            errors.append(err)

    threads = [threading.Thread(target=open_store) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Store(url) as s:
        assert s.db.version() == len(__import__("exporter.store.sqlite", fromlist=["MIGRATIONS"]).MIGRATIONS)
