"""What the daemon holds at scale (issue 13, RSS at 10,000 tenants): the pieces that keep it
small, each held to what it must still do. The figures are benchmarks/memory.py's and
benchmarks/scale.py's; docs/benchmarks.md, "Memory at 10,000 tenants"."""

import ctypes
import http.client

import pytest
from prometheus_client import CollectorRegistry

from exporter import daemon
from exporter.engine.states import Series
from exporter.store.sqlite import Store
from exporter.web.server import Endpoints, Server
from exporter.web.webconfig import WebConfig


@pytest.mark.parametrize(
    "paths, scrapes",
    [
        (["/metrics", "/-/healthy"], 1),
        (["/metrics", "/metrics", "/-/healthy"], 2),
        (["/-/healthy", "/-/ready", "/nothing", "/-/healthy"], 0),
    ],
)
def test_the_daemon_is_told_after_each_scrape(paths, scrapes):
    """The hook runs once each /metrics answer is sent (its body freed), never for others.
    Requests on one keep-alive connection are served in turn: by the last answer, the
    hook of every scrape before it has run."""
    calls = []
    endpoints = Endpoints(
        CollectorRegistry(), lambda: (True, "ready"), lambda: (True, "ok"), scraped=lambda: calls.append(1)
    )
    server = Server(("127.0.0.1", 0), endpoints, WebConfig())
    server.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        statuses = []
        for path in paths:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
        conn.close()
    finally:
        server.shutdown()
        server.server_close()
    assert statuses[0] == 200 and len(calls) == scrapes


@pytest.mark.parametrize("glibc", [True, False])
def test_giving_back_freed_memory_is_glibcs_or_nothing(glibc, monkeypatch):
    if not glibc:
        monkeypatch.setattr(ctypes, "CDLL", lambda *a, **k: (_ for _ in ()).throw(OSError("no such library")))
    trim = daemon._malloc_trim()
    assert (getattr(trim, "__name__", None) == "malloc_trim") == glibc
    trim(0)  # never raises, whatever the allocator
    daemon._give_back()


MIN = 60_000


STORED = [Series(True, 0, MIN, 2), Series(False, 2 * MIN, 2 * MIN, 1)]


@pytest.mark.parametrize(
    "later, starts",
    [
        # a group commit that goes on from stored records links to them: no chain start
        ([Series(True, 4 * MIN, 5 * MIN, 2)], 0),
        ([Series(False, 2 * MIN, 3 * MIN, 2)], 0),  # the last stored record rewritten, grown
        # the first record rewritten, or one before it: the chain is written from its start
        ([Series(True, 0, MIN, 2), Series(True, 3 * MIN, 3 * MIN, 1)], 1),
        ([Series(False, -MIN, -MIN, 1)], 1),
    ],
)
def test_a_group_commit_asks_for_a_chains_start_only_when_it_writes_from_there(store_target, later, starts):
    """Every commit asked every probe it wrote for its chain's genesis, and the store kept
    them all (~4 MB at 30,000 probes); the chains verify as before either way."""
    with Store(store_target) as first:
        first.save_series([("acme", p, s) for p in ("ui", "api") for s in STORED])
    with Store(store_target) as store:  # the daemon after a restart: history already stored
        store.save_series([("acme", p, s) for p in ("ui", "api") for s in later])
        assert len(store._genesis) == 2 * starts
        broken, probes, _records = store.verify_chains()
        assert broken is None and probes == 2
