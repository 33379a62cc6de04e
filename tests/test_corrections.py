"""The corrections ledger and service credits: the counting rule (docs/semantics.md,
"Corrections" and "Service credits") table-driven on the engine, the refusals, the store's
append-only ledger, the config, the API, and the /metrics collector picking up a
correction written by another process within one scrape."""

import datetime as dt
import json
import re

import pytest

from exporter import config
from exporter.engine.accounting import corrected_views
from exporter.engine.availability import figures
from exporter.engine.corrections import Correction, from_ledger, refusal
from exporter.engine.credits import credit_ratio
from exporter.engine.months import month_bounds_ms
from exporter.engine.states import StateIntervals
from exporter.model import CreditTier, LedgerEntry
from exporter.store import ledger
from exporter.store.sqlite import LedgerError, Store
from exporter.web.api import Api

H = 3_600_000  # ms


def state(up=(), down=(), unknown=()):
    return StateIntervals(list(up), list(down), list(unknown))


def c(id_, start, end, as_, category="other"):
    return Correction(id_, int(start * H), int(end * H), as_, category)


def hours(pairs):
    return [(a * H, b * H) for a, b in pairs]


# A 10-hour "month" [0, 10 h): measured up except down 2-4 h and unknown 6-7 h; maintenance 8-9 h.
MEASURED = state(up=hours([(0, 2), (4, 6), (7, 10)]), down=hours([(2, 4)]), unknown=hours([(6, 7)]))
WINDOW = hours([(8, 9)])


@pytest.mark.parametrize(
    "corrections, eligible, downtime, unknown, excluded, changed",
    [
        pytest.param([], 9, 2, 1, 0, {}, id="no corrections: as measured"),
        pytest.param([c(1, 2, 4, "up")], 9, 0, 1, 0, {1: 2}, id="up over an outage"),
        pytest.param([c(1, 0, 1, "down")], 9, 3, 1, 0, {1: 1}, id="down over up time"),
        pytest.param([c(1, 8, 9, "down")], 9, 2, 1, 0, {1: 0}, id="down inside maintenance changes nothing"),
        pytest.param([c(1, 8, 9, "excluded")], 9, 2, 1, 0, {1: 0}, id="excluded inside maintenance: nothing"),
        pytest.param([c(1, 7, 10, "excluded")], 7, 2, 1, 2, {1: 2}, id="excluded overlapping maintenance"),
        pytest.param([c(1, 3, 5, "excluded")], 7, 1, 1, 2, {1: 2}, id="excluded over part of an outage"),
        pytest.param([c(1, 6, 7, "up")], 9, 2, 0, 0, {1: 1}, id="up makes unknown time known"),
        pytest.param([c(1, 5, 8, "down")], 9, 5, 0, 0, {1: 3}, id="down makes unknown time known, down"),
        pytest.param([c(1, 2, 4, "up"), c(2, 3, 5, "down")], 9, 2, 1, 0, {1: 1, 2: 1}, id="the later one wins"),
        pytest.param([c(2, 2, 4, "up"), c(1, 3, 5, "down")], 9, 1, 1, 0, {2: 2, 1: 1}, id="by id, not by order"),
        pytest.param([c(1, 1, 6, "excluded"), c(2, 2, 3, "down")], 5, 1, 1, 4, {1: 4, 2: 0}, id="down inside excl"),
        pytest.param([c(1, 2, 3, "up"), c(2, 1, 6, "excluded")], 4, 0, 1, 5, {1: 0, 2: 5}, id="excluded over up"),
        pytest.param([c(1, -5, 1, "down")], 9, 3, 1, 0, {1: 1}, id="starts before the month: its part"),
        pytest.param([c(1, 9, 15, "down")], 9, 3, 1, 0, {1: 1}, id="ends after the month: its part"),
        pytest.param([c(1, 11, 15, "down")], 9, 2, 1, 0, {1: 0}, id="outside the month"),
    ],
)
def test_the_corrections_rule(corrections, eligible, downtime, unknown, excluded, changed):
    v = corrected_views(MEASURED, WINDOW, tuple(corrections), 0, 10 * H, 0.99)
    f = v.corrected
    assert (f.eligible, f.downtime, f.unknown, f.excluded) == (eligible * H, downtime * H, unknown * H, excluded * H)
    assert f.maintenance == 1 * H  # corrections never change maintenance
    assert f.eligible + f.maintenance + f.excluded == 10 * H
    assert f.error_budget == round(0.01 * (10 * H - 1 * H - excluded * H))  # the base loses excluded time too
    assert f.downtime == sum(o.counted for o in f.outages)
    assert {k: ms / H for k, ms in v.changed.items()} == changed
    assert v.measured == figures(MEASURED, WINDOW, 0, 10 * H, 0.99)


def test_excluded_time_does_not_split_an_outage():
    v = corrected_views(MEASURED, WINDOW, (c(1, 3, 3.5, "excluded"),), 0, 10 * H, 0.99)
    (outage,) = v.corrected.outages
    assert (outage.start, outage.end, outage.counted) == (2 * H, 4 * H, 1.5 * H)


def test_an_up_correction_splits_an_outage():
    v = corrected_views(MEASURED, WINDOW, (c(1, 3, 3.5, "up"),), 0, 10 * H, 0.99)
    assert [(o.start / H, o.end / H) for o in v.corrected.outages] == [(2, 3), (3.5, 4)]


def test_month_to_date_counts_the_part_before_now():
    v = corrected_views(
        state(up=hours([(0, 2)]), down=hours([(2, 3)])), [], (c(1, 1, 5, "down"),), 0, 10 * H, 0.99, now=3 * H
    )
    assert (v.corrected.downtime, v.changed) == (2 * H, {1: 1 * H})
    assert v.corrected.error_budget == round(0.01 * 10 * H)  # the budget's base is the whole month's


def entry(id_, kind="correction", tenant="acme", start=0, end=H, state_="up", revokes=None):
    if kind == "revocation":
        return LedgerEntry(id_, kind, tenant, "why", "me", 0, revokes=revokes)
    return LedgerEntry(id_, kind, tenant, "why", "me", 0, start, end, state_, "other")


@pytest.mark.parametrize(
    "entries, active",
    [
        pytest.param([entry(1)], [1], id="one"),
        pytest.param([entry(1), entry(2, "revocation", revokes=1)], [], id="revoked"),
        pytest.param([entry(1), entry(2), entry(3, "revocation", revokes=1)], [2], id="the other stays"),
        pytest.param([entry(1, tenant="other")], [], id="another tenant's"),
    ],
)
def test_revoked_corrections_are_not_active(entries, active):
    assert [x.id for x in from_ledger(entries, "acme")] == active


NOW = 1_800_000_000_000
DAY = 86_400_000


@pytest.mark.parametrize(
    "start, end, max_age, why",
    [
        (NOW - 2 * H, NOW - H, 90 * DAY, None),
        (NOW - 90 * DAY, NOW - H, 90 * DAY, None),  # exactly max_age old: still allowed
        (NOW - 90 * DAY - 1, NOW - H, 90 * DAY, "'from' is older than sla.corrections.max_age (90d)"),
        (NOW - 2 * H, NOW, 90 * DAY, None),  # up to now
        (NOW - 2 * H, NOW + 1, 90 * DAY, "'to' is in the future"),
        (NOW - H, NOW - H, 90 * DAY, "'to' must be after 'from'"),
        (NOW - H, NOW - 2 * H, 90 * DAY, "'to' must be after 'from'"),
        (NOW - 2 * H, NOW - H, H, "'from' is older than sla.corrections.max_age (3600s)"),
    ],
)
def test_refusals(start, end, max_age, why):
    got = refusal(start, end, NOW, max_age)
    assert (got is None) if why is None else (got is not None and got.startswith(why)), got


def test_dst_in_helsinki_a_correction_over_the_repeated_hour(tmp_path):
    """October 2026 in Helsinki lasts 745 h; an exclusion from 03:00 EEST to 03:30 EET on the
    25th (00:00Z to 01:30Z) is 90 minutes of elapsed time, not 30."""
    lo, hi = month_bounds_ms(2026, 10, "Europe/Helsinki")
    start = int(dt.datetime.fromisoformat("2026-10-25T03:00:00+03:00").timestamp() * 1000)
    end = int(dt.datetime.fromisoformat("2026-10-25T03:30:00+02:00").timestamp() * 1000)
    up = state(up=[(lo, hi)])
    v = corrected_views(up, [], (Correction(1, start, end, "excluded", "force-majeure"),), lo, hi, 0.9992)
    assert (v.corrected.excluded, v.corrected.eligible) == (90 * 60_000, 745 * H - 90 * 60_000)


def figures_with(known_ms, down_ms, target=0.9992):
    return figures(state(up=[(0, known_ms - down_ms)], down=[(known_ms - down_ms, known_ms)]), [], 0, known_ms, target)


TIERS = (CreditTier(0.9992, 0.05), CreditTier(0.995, 0.10), CreditTier(0.95, 0.25))


@pytest.mark.parametrize(
    "down_per_10000, tiers, credit",
    [
        (0, TIERS, 0.0),
        (8, TIERS, 0.0),  # exactly 99.92 %: met
        (9, TIERS, 0.05),  # 99.91 %
        (50, TIERS, 0.05),  # exactly 99.5 %: not below 99.5 %
        (51, TIERS, 0.10),
        (500, TIERS, 0.10),  # exactly 95 %
        (501, TIERS, 0.25),
        (10000, TIERS, 0.25),
        (9, tuple(reversed(TIERS)), 0.05),  # the order written does not matter
        (600, (), 0.0),  # no tiers: nothing owed
    ],
)
def test_credit_tiers(down_per_10000, tiers, credit):
    assert credit_ratio(figures_with(10000 * 1000, down_per_10000 * 1000), tiers) == credit


def test_met_owes_nothing_even_below_a_tier():
    f = figures_with(10000 * 1000, 5 * 1000, target=0.999)  # 99.95 %: met at 99.9 %
    assert credit_ratio(f, (CreditTier(0.9999, 0.05),)) == 0.0


def test_no_known_time_no_credit():
    assert credit_ratio(figures(state(unknown=[(0, H)]), [], 0, H, 0.99), TIERS) is None


# -- config ---------------------------------------------------------------------------------

BASE = """
sla:
  target: 99.92%
  credits: [{below: 99.92%, credit: 5%}, {below: 99.5%, credit: 10%}, {below: 95%, credit: 25%}]
  corrections: {max_age: 30d}
tenants:
  - {name: a, probes: [{name: p, url: "http://x/"}]}
  - name: b
    sla: {credits: [{below: 99%, credit: 0.2}], corrections: {max_age: 1w}}
    probes: [{name: p, url: "http://x/"}]
"""


def test_credits_and_max_age_top_level_and_per_tenant():
    cfg = config.load_text(BASE)
    a, b = cfg.tenants
    assert a.credits == TIERS and a.corrections_max_age_ms == 30 * DAY
    assert b.credits == (CreditTier(0.99, 0.2),) and b.corrections_max_age_ms == 7 * DAY
    assert config.load_text("tenants: [{name: a, probes: [{name: p, url: 'http://x/'}]}]").tenants[
        0
    ].corrections_max_age_ms == (90 * DAY)


@pytest.mark.parametrize(
    "sla, problem",
    [
        ("{credits: [{below: 99%, credit: 0}]}", "sla.credits[0].credit: expected a credit such as 10%"),
        ("{credits: [{below: 99%, credit: 101%}]}", "sla.credits[0].credit: expected a credit such as 10%"),
        ("{credits: [{below: 120, credit: 5%}]}", "sla.credits[0].below: must lie strictly between"),
        ("{credits: [{credit: 5%}]}", "sla.credits[0]: missing required key 'below'"),
        ("{credits: [{below: 99%, credit: 5%, extra: 1}]}", "sla.credits[0].extra: unknown key 'extra'"),
        ("{credits: 5%}", "sla.credits: expected a list"),
        (
            "{credits: [{below: 99%, credit: 5%}, {below: 99%, credit: 6%}]}",
            "sla.credits[1].below: duplicate tier below 99%",
        ),
        (
            "{credits: [{below: 99%, credit: 10%}, {below: 98%, credit: 5%}]}",
            "sla.credits[1].credit: a lower tier must not give a smaller credit: "
            "5% below 98% is less than 10% below 99%",
        ),
        ("{corrections: {max_age: soon}}", "sla.corrections.max_age: expected a duration"),
        ("{corrections: {maxage: 1d}}", "sla.corrections.maxage: unknown key 'maxage' (did you mean 'max_age'?)"),
    ],
)
def test_config_problems_name_the_key_path(sla, problem):
    with pytest.raises(config.ConfigError) as err:
        config.load_text(f"sla: {sla}\ntenants: [{{name: a, probes: [{{name: p, url: 'http://x/'}}]}}]\n")
    assert problem in str(err.value), str(err.value)


# -- the store and the recording rules -----------------------------------------------------

CFG = config.load_text(BASE)
T_NOW = 1_790_000_000_000


@pytest.fixture
def store(store_target):
    """A new store on each backend (SQLite, PostgreSQL)."""
    with Store(store_target) as s:
        yield s


def test_the_ledger_is_append_only(store):
    first = ledger.correct(store, CFG, "a", T_NOW - 2 * H, T_NOW - H, "up", "false-positive", "dns", "ann", T_NOW)
    second = ledger.revoke(store, CFG, first, "wrong tenant", "bob", T_NOW)
    assert (first, second, store.ledger_head()) == (1, 2, 2)
    for sql in ("UPDATE corrections SET reason = 'x'", "DELETE FROM corrections"):
        with pytest.raises(Exception, match="append-only"):
            store.db.execute(sql)
    assert [e.kind for e in store.ledger()] == ["correction", "revocation"]


@pytest.mark.parametrize(
    "args, message",
    [
        (("zz", -2, -1, "up", "other"), "tenant: unknown tenant 'zz'"),
        (("a", -2, -1, "sideways", "other"), "as: expected one of up, down, excluded"),
        (("a", -2, -1, "up", "act-of-god"), "category: expected one of false-positive"),
        (("a", -31 * 24, -1, "up", "other"), "'from' is older than sla.corrections.max_age (30d)"),
        (("b", -8 * 24, -1, "up", "other"), "'from' is older than sla.corrections.max_age (7d)"),
        (("a", -1, 1, "up", "other"), "'to' is in the future"),
    ],
)
def test_refused_corrections_write_nothing(store, args, message):
    tenant, start, end, as_, category = args
    with pytest.raises(ledger.Refused, match=re.escape(message)):
        ledger.correct(store, CFG, tenant, T_NOW + start * H, T_NOW + end * H, as_, category, "r", "me", T_NOW)
    assert store.ledger() == []


def test_revocation_rules(store):
    old = ledger.correct(store, CFG, "a", T_NOW - 2 * H, T_NOW - H, "up", "other", "r", "me", T_NOW)
    with pytest.raises(LedgerError, match="no correction 9"):
        store.revoke_correction(9, "r", "me", T_NOW)
    with pytest.raises(ledger.Refused, match="revoke: no correction 9"):
        ledger.revoke(store, CFG, 9, "r", "me", T_NOW)
    with pytest.raises(ledger.Refused, match="reason: must not be empty"):
        ledger.revoke(store, CFG, old, "  ", "me", T_NOW)
    # 31 days later the correction is older than max_age: revoking it is refused too.
    with pytest.raises(ledger.Refused, match=r"reaches back further than sla\.corrections\.max_age"):
        ledger.revoke(store, CFG, old, "r", "me", T_NOW + 31 * DAY)
    rev = ledger.revoke(store, CFG, old, "r", "me", T_NOW)
    with pytest.raises(LedgerError, match=f"correction {old} is revoked already \\(by entry {rev}\\)"):
        ledger.revoke(store, CFG, old, "r", "me", T_NOW)
    with pytest.raises(ledger.Refused, match=f"revoke: no correction {rev}"):  # a revocation is not revocable
        ledger.revoke(store, CFG, rev, "r", "me", T_NOW)


# -- the API --------------------------------------------------------------------------------

API_NOW = dt.datetime.fromisoformat("2026-11-26T10:00:00+02:00").timestamp()
AUTH = {"Authorization": "Bearer s3cret"}


@pytest.fixture
def api(store):
    return Api(store, lambda: CFG, lambda: ("s3cret", None), lambda: API_NOW)


def call(api, method, path, body=None, headers=AUTH):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
    return api.handle(method, path, headers, raw)


GOOD = {
    "tenant": "a",
    "from": "2026-11-26T08:00:00+02:00",
    "to": "2026-11-26T09:00:00+02:00",
    "as": "up",
    "category": "false-positive",
    "reason": "our resolver",
}


def test_api_records_lists_and_revokes(api):
    status, doc = call(api, "POST", "/api/v1/corrections", GOOD)
    assert status == 201, doc
    assert doc["id"] == 1 and doc["by"].startswith("api-token:") and "s3cret" not in doc["by"]
    assert (doc["from"], doc["to"], doc["as"]) == ("2026-11-26T08:00:00+02:00", "2026-11-26T09:00:00+02:00", "up")
    status, rev = call(api, "POST", "/api/v1/corrections", {"revoke": 1, "reason": "mistake"})
    assert (status, rev["kind"], rev["revokes"]) == (201, "revocation", 1)
    assert call(api, "POST", "/api/v1/corrections", {"revoke": 1, "reason": "again"}) == (
        409,
        {"error": "correction 1 is revoked already (by entry 2)"},
    )
    status, listed = call(api, "GET", "/api/v1/corrections?month=2026-11&tenant=a")
    assert status == 200 and [e["id"] for e in listed["corrections"]] == [1, 2]
    assert call(api, "GET", "/api/v1/corrections?month=2026-10")[1] == {"corrections": []}


@pytest.mark.parametrize(
    "change, status, error",
    [
        ({"by": "mallory"}, 400, "by: unknown field (expected as, category, from, reason, tenant, to)"),
        ({"reason": None}, 400, "reason: required"),
        ({"from": "2026-11-26 08:00"}, 400, "from: expected RFC 3339 with an offset"),
        ({"tenant": "nope"}, 422, "tenant: unknown tenant 'nope'"),
        ({"as": "sideways"}, 422, "as: expected one of up, down, excluded, got 'sideways'"),
        ({"to": "2026-11-26T11:00:00+02:00"}, 422, "'to' is in the future"),
        ({"from": "2026-10-01T00:00:00+02:00"}, 422, "'from' is older than sla.corrections.max_age (30d)"),
        ({"as": 1}, 400, "as: expected a string"),
    ],
)
def test_api_refusals_one_line(api, change, status, error):
    got_status, doc = call(api, "POST", "/api/v1/corrections", {**GOOD, **change})
    assert got_status == status and doc["error"].startswith(error), doc
    assert "\n" not in doc["error"]


@pytest.mark.parametrize(
    "headers, status", [({}, 401), ({"Authorization": "Bearer nope"}, 401), ({"Authorization": "Basic eDp5"}, 401)]
)
def test_api_needs_the_token(api, headers, status):
    assert call(api, "POST", "/api/v1/corrections", GOOD, headers)[0] == status
    assert call(api, "GET", "/api/v1/corrections", None, headers)[0] == status


def test_api_without_a_token_cannot_write(store):
    api = Api(store, lambda: CFG, lambda: (None, None), lambda: API_NOW)
    assert call(api, "POST", "/api/v1/corrections", GOOD, {})[0] == 403
    assert call(api, "GET", "/api/v1/corrections", None, {}) == (200, {"corrections": []})


# -- /metrics: the daemon's figures follow the ledger within one scrape ----------------------

COLLECTOR_CONFIG = """
timezone: UTC
sla:
  target: 99.92%
  credits: [{below: 99.92%, credit: 5%}, {below: 99.5%, credit: 10%}]
  corrections: {max_age: 100000d}
probe_defaults: {interval: 60s}
tenants:
  - name: acme
    probes: [{name: a, url: "https://a.example.com/"}]
"""
OCT = dt.datetime(2026, 10, 1, tzinfo=dt.UTC).timestamp()
NOV = dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp()
OCT_FAIL = dt.datetime(2026, 10, 10, 12, tzinfo=dt.UTC).timestamp()
SCRAPE_AT = NOV + 10_000


def test_the_collector_applies_corrections_recorded_by_another_process(tmp_path):
    from prometheus_client import CollectorRegistry

    from exporter.probing.recorder import Recorder, Result
    from exporter.web.collector import ExporterStatus, SLACollector

    cfg = config.load_text(COLLECTOR_CONFIG)
    path = str(tmp_path / "s.db")
    store = Store(path)
    store.merge(
        {("acme", "a"): [(int(t) * 1000, not OCT_FAIL <= t < OCT_FAIL + 600) for t in range(int(OCT), int(NOV), 60)]}
    )
    recorder = Recorder(store, cfg, since=OCT)
    for t in range(int(NOV), int(SCRAPE_AT), 60):
        ok = t not in (NOV + 7020, NOV + 7080)  # down 7020-7140: 120 s
        recorder.observe(
            "acme",
            "a",
            Result(
                started=t,
                success=ok,
                duration=0.1,
                status_code=200 if ok else 503,
                reason=None if ok else "status",
                cert_expiry=None,
            ),
        )
    recorder.flush()
    reg = CollectorRegistry()
    reg.register(SLACollector(lambda: cfg, recorder, ExporterStatus(True, NOV), lambda: SCRAPE_AT, store=store))

    def scrape():
        return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in reg.collect() for s in f.samples}

    acme = (("tenant", "acme"),)
    before = scrape()
    assert before[("sla_month_downtime_seconds", acme)] == 120
    assert before[("sla_service_credit_ratio", acme)] == 0.10  # 120 s of 10 000 s down: 98.8 %, below 99.5 %
    assert before[("sla_previous_month_availability_ratio", acme)] < 1
    assert not any(name == "sla_corrected_seconds" for name, _ in before)

    # Another process (the command line) writes the ledger through its own connection.
    now_ms = int(SCRAPE_AT * 1000)
    with Store(path) as cli:
        ledger.correct(
            cli,
            cfg,
            "acme",
            int((NOV + 7020) * 1000),
            int((NOV + 7140) * 1000),
            "up",
            "false-positive",
            "probe host lost DNS",
            "ann",
            now_ms,
        )
        oct_fix = ledger.correct(
            cli,
            cfg,
            "acme",
            int(OCT_FAIL * 1000),
            int((OCT_FAIL + 600) * 1000),
            "excluded",
            "force-majeure",
            "regional power cut",
            "ann",
            now_ms,
        )
    after = scrape()
    assert after[("sla_month_downtime_seconds", acme)] == 0
    assert after[("sla_availability_ratio", acme)] == 1.0
    assert after[("sla_service_credit_ratio", acme)] == 0.0
    assert after[("sla_corrected_seconds", (("category", "false-positive"), ("tenant", "acme")))] == 120
    assert after[("sla_previous_month_availability_ratio", acme)] == 1.0  # closed months follow too
    assert after[("sla_downtime_seconds_total", acme)] == 0

    with Store(path) as cli:
        ledger.revoke(cli, cfg, oct_fix, "it was the vendor's after all", "bob", now_ms)
    again = scrape()
    assert (
        again[("sla_previous_month_availability_ratio", acme)]
        == before[("sla_previous_month_availability_ratio", acme)]
    )
    assert again[("sla_downtime_seconds_total", acme)] == 600
    store.close()


def test_corrected_figures_carried_on_equal_a_fresh_computation(tmp_path):
    """Scraped every minute while results keep coming (the corrected figures carried on from
    the cache) or once at the end (computed afresh): the same samples."""
    from prometheus_client import CollectorRegistry

    from exporter.probing.recorder import Recorder, Result
    from exporter.web.collector import ExporterStatus, SLACollector

    cfg = config.load_text(COLLECTOR_CONFIG)
    store = Store(str(tmp_path / "s.db"))
    recorder = Recorder(store, cfg, since=OCT)
    clock = [NOV]

    def observe(t, ok):
        recorder.observe(
            "acme",
            "a",
            Result(
                started=t,
                success=ok,
                duration=0.1,
                status_code=200 if ok else 503,
                reason=None if ok else "status",
                cert_expiry=None,
            ),
        )

    for t in range(int(NOV), int(NOV) + 3600, 60):
        observe(t, not (600 <= t - NOV < 900))  # down 600-900 s
    clock[0] = NOV + 3600
    ledger.correct(
        store,
        cfg,
        "acme",
        int((NOV + 700) * 1000),
        int((NOV + 800) * 1000),
        "up",
        "other",
        "r",
        "me",
        int(clock[0] * 1000),
    )
    ledger.correct(
        store,
        cfg,
        "acme",
        int((NOV + 1000) * 1000),
        int((NOV + 1100) * 1000),
        "excluded",
        "other",
        "r",
        "me",
        int(clock[0] * 1000),
    )

    def registry():
        reg = CollectorRegistry()
        reg.register(SLACollector(lambda: cfg, recorder, ExporterStatus(True, NOV), lambda: clock[0], store=store))
        return reg

    def scrape(reg):
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in reg.collect()
            for s in f.samples
            if s.name.startswith("sla_") and not s.name.startswith("sla_exporter")
        }

    often = registry()
    for t in range(int(NOV) + 3600, int(NOV) + 7200, 60):
        observe(t, not (5000 <= t - NOV < 5200))  # a second outage after the corrections
        clock[0] = t + 30
        scrape(often)
    last = scrape(often)
    fresh = scrape(registry())
    assert last == fresh
    acme = (("tenant", "acme"),)
    assert last[("sla_month_downtime_seconds", acme)] == 300 - 100 + 180  # corrected up 100 s; 5040-5220 down
    store.close()
