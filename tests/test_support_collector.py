"""The support collector reads what a scrape needs (open incidents and those stored or
resolved since the last scrape), and its figures are those of reading every incident."""

import datetime as dt

import pytest

from exporter import config
from exporter.model import Event, Incident, ServiceRequest
from exporter.store.sqlite import Store
from exporter.web.collectors.support import SupportCollector

CONFIG = """
timezone: UTC
tenants:
  - name: acme
    probes: [{name: a, url: "https://a.example.com/"}]
  - name: beta
    probes: [{name: b, url: "https://b.example.com/"}]
"""
T0 = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC).timestamp()  # a Monday morning
H = 3600


class Counting:
    """The store, counting the incidents each scrape reads."""

    def __init__(self, store):
        self.store, self.read = store, []

    def incidents_since(self, *args):
        top, found = self.store.incidents_since(*args)
        self.read.append(len(found))
        return top, found

    def requests(self, *args, **kw):
        return self.store.requests(*args, **kw)

    def incidents_version(self):
        return self.store.incidents_version()


def file(store, iid, tenant, priority, opened, events=()):
    store.add_incident(Incident(iid, tenant, priority, opened))
    for e in events:
        store.add_event(iid, e)


def samples(collector):
    return sorted(
        (s.name, tuple(sorted(s.labels.items())), s.value) for fam in collector.collect() for s in fam.samples
    )


# Steps between scrapes: (hours after T0 of the scrape, actions on the store).
STEPS = {
    "closed history is read once": [
        (
            1,
            lambda s: [
                file(s, f"old-{i}", "acme", "P3", T0 - 100 * H, [Event("resolution", T0 - 99 * H)]) for i in range(20)
            ],
        ),
        (2, lambda s: None),
        (3, lambda s: None),
    ],
    "an open incident is answered, then resolved": [
        (1, lambda s: file(s, "i1", "acme", "P2", T0)),
        (2, lambda s: s.add_event("i1", Event("response", T0 + 1.5 * H))),
        (30, lambda s: s.add_event("i1", Event("resolution", T0 + 29 * H))),
        (31, lambda s: None),
    ],
    "an incident stored resolved between scrapes": [
        (1, lambda s: file(s, "i1", "beta", "P1", T0)),
        (2, lambda s: file(s, "i2", "beta", "P2", T0 - 50 * H, [Event("resolution", T0 - 10 * H)])),
        (3, lambda s: None),
    ],
    "a resolution later than the scrape": [
        (1, lambda s: file(s, "i1", "acme", "P3", T0, [Event("resolution", T0 + 5 * H)])),
        (4, lambda s: None),
        (6, lambda s: None),
    ],
    "breaches of resolved and open incidents add up": [
        (1, lambda s: file(s, "i1", "acme", "P1", T0 - 10 * H, [Event("resolution", T0 - 2 * H)])),
        (2, lambda s: file(s, "i2", "acme", "P1", T0 - 5 * H)),
        (3, lambda s: file(s, "i3", "beta", "P2", T0 - 5 * H, [Event("response", T0 - 4 * H)])),
        (9, lambda s: s.add_event("i2", Event("resolution", T0 + 8 * H))),
        (10, lambda s: None),
    ],
    # With no write in between, the kept evaluations must still follow the clock.
    "deadlines pass between scrapes with no write": [
        (0, lambda s: file(s, "i1", "acme", "P1", T0)),
        (0.5, lambda s: None),
        (2, lambda s: None),
        (26, lambda s: None),
        (80, lambda s: None),
    ],
    "a communication interval passes, then another": [
        (0, lambda s: file(s, "i1", "beta", "P2", T0, [Event("response", T0 + 0.5 * H)])),
        (1, lambda s: None),
        (30, lambda s: None),
        (60, lambda s: None),
    ],
    "events dated after the scrape take effect when reached": [
        (0, lambda s: file(s, "i1", "acme", "P3", T0, [Event("priority", T0 + 2 * H, "P1")])),
        (1, lambda s: None),
        (3, lambda s: s.add_event("i1", Event("response", T0 + 5 * H))),
        (4, lambda s: None),
        (6, lambda s: None),
    ],
    "the clock steps back": [  # (a resolution passed stays passed: not compared here)
        (0, lambda s: file(s, "i1", "acme", "P1", T0, [Event("response", T0 + 4 * H)])),
        (5, lambda s: None),
        (2, lambda s: None),
        (3, lambda s: None),
    ],
    "a detected incident beside filed ones": [
        (0, lambda s: s.add_incident(Incident("d1", "beta", "P2", T0, source="detected"))),
        (1, lambda s: file(s, "i1", "beta", "P2", T0)),
        (40, lambda s: s.add_event("d1", Event("resolution", T0 + 39 * H))),
        (41, lambda s: None),
    ],
}


@pytest.mark.parametrize("steps", STEPS.values(), ids=STEPS.keys())
def test_scrape_after_scrape_agrees_with_reading_every_incident(tmp_path, steps):
    cfg = config.load_text(CONFIG)
    with Store(str(tmp_path / "s.db")) as store:
        now = [T0]
        live = SupportCollector(lambda: cfg, store, lambda: now[0])
        for hours, act in steps:
            act(store)
            now[0] = T0 + hours * H
            fresh = SupportCollector(lambda: cfg, store, lambda: now[0])  # reads everything
            assert samples(live) == samples(fresh)


def test_resolved_incidents_are_not_read_again(tmp_path):
    cfg = config.load_text(CONFIG)
    with Store(str(tmp_path / "s.db")) as store:
        for i in range(50):
            file(store, f"old-{i}", "acme", "P3", T0 - 100 * H, [Event("resolution", T0 - 99 * H)])
        file(store, "open", "beta", "P3", T0)
        counting = Counting(store)
        now = [T0 + H]
        collector = SupportCollector(lambda: cfg, counting, lambda: now[0])  # type: ignore[arg-type]
        for hours in (1, 2, 3):
            now[0] = T0 + hours * H
            samples(collector)
        file(store, "new-closed", "acme", "P3", T0, [Event("resolution", T0 + H)])
        samples(collector)
        store.add_event("open", Event("resolution", now[0]))
        samples(collector)
        samples(collector)
        # all once; nothing while nothing is written; the open one and the new one; the one
        # just resolved; nothing
        assert counting.read == [51, 2, 1]


@pytest.mark.parametrize(
    "hours, evaluated",
    [
        # p1 is answered at 0.1 h (next contact due at 1.1 h); p4's deadlines passed long ago
        ((1, 1, 1), 2),  # evaluated when read, kept while nothing moves
        ((1, 1.05, 1.08), 2),  # before p1's next contact is due: kept
        ((1, 1.5, 1.6), 3),  # p1's contact deadline passes between: p1 again (next due 2.1 h)
        ((1.5, 1, 1.5), 5),  # the clock steps back: both again; then forward: p1 again
    ],
)
def test_an_incident_is_evaluated_again_only_when_its_next_deadline_or_event_comes(
    tmp_path, monkeypatch, hours, evaluated
):
    from exporter.web.collectors import support

    calls = []
    real = support.evaluate
    monkeypatch.setattr(support, "evaluate", lambda *a: calls.append(a[1].id) or real(*a))
    cfg = config.load_text(CONFIG)
    with Store(str(tmp_path / "s.db")) as store:
        file(store, "p1", "acme", "P1", T0, [Event("response", T0 + 0.1 * H), Event("workaround", T0 + 0.2 * H)])
        file(store, "p4", "beta", "P4", T0 - 500 * H)
        now = [T0]
        collector = SupportCollector(lambda: cfg, store, lambda: now[0])
        for h in hours:
            now[0] = T0 + h * H
            samples(collector)
    assert len(calls) == evaluated


# What moves the store's incident write count (the scrape's cue to read them again).
WRITES = {
    "a new incident": (lambda s: file(s, "i2", "acme", "P2", T0), True),
    "a numbered incident": (lambda s: s.add_numbered(Incident("", "acme", "P2", T0), "INC"), True),
    "an event": (lambda s: s.add_event("i1", Event("response", T0 + H)), True),
    "a resolution": (lambda s: s.add_event("i1", Event("resolution", T0 + H)), True),
    "an event refused (unknown incident)": (lambda s: s.add_event("nope", Event("response", T0)), False),
    "a taken id": (lambda s: s.add_incident(Incident("i1", "beta", "P3", T0)), False),
    "a service request": (lambda s: s.add_numbered(ServiceRequest("", "acme", T0), "SR"), False),
    "a ledger entry": (lambda s: s.ledger_head(), False),
}


@pytest.mark.parametrize("write, moves", WRITES.values(), ids=WRITES.keys())
def test_incident_writes_move_the_write_count_on_both_backends(store_target, write, moves):
    with Store(store_target) as store:
        file(store, "i1", "acme", "P2", T0)
        before = store.incidents_version()
        write(store)
        assert (store.incidents_version() > before) is moves
        assert store.incidents_version() >= before
