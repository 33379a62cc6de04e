import datetime as dt
import io
import os
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from exporter.engine.states import Series
from exporter.model import Config, Probe, Tenant
from exporter.store.importer import ImportError_, import_observations, parse, parse_time
from exporter.store.sqlite import Store

CFG = Config(tenants=(Tenant("acme", probes=(Probe("ui", "https://a/", stale_after=120), Probe("api", "https://a/"))),))
HEADER = "time,tenant,probe,success\n"


def rows(*lines):
    return io.StringIO(HEADER + "".join(line + "\n" for line in lines))


@pytest.mark.parametrize(
    "line, value",
    [
        ("2026-10-01T00:00:00Z,acme,ui,1", (1790812800_000, True)),
        ("2026-10-01T03:00:00+03:00,acme,ui,0", (1790812800_000, False)),
        ("2026-10-01T00:00:00.250Z,acme,ui,true", (1790812800_250, True)),
        ("2026-10-01 00:00:00Z,acme,ui,FALSE", (1790812800_000, False)),
        (" 2026-10-01T00:00:00Z , acme , ui , 1 ", (1790812800_000, True)),
        # RFC 3339 as real tools write it.
        ("2026-10-01t00:00:00z,acme,ui,1", (1790812800_000, True)),
        ("2026-10-01T00:00:00.2999Z,acme,ui,1", (1790812800_299, True)),  # finer digits cut off
        ("2016-12-31T23:59:60Z,acme,ui,1", (1483228799_999, True)),  # leap second: last ms of :59
        ("2016-12-31T23:59:60.5+00:00,acme,ui,1", (1483228799_999, True)),
        ("2026-10-01T00:00:00.001+03:00,acme,ui,1", (1790802000_001, True)),
    ],
)
def test_parse_accepts(line, value):
    assert parse(rows(line), CFG).by_probe == {("acme", "ui", "default"): [value]}


def test_a_byte_order_mark_before_the_header_is_fine():
    text = "\ufeff" + HEADER + "2026-10-01T00:00:00Z,acme,ui,1\n"
    assert parse(io.StringIO(text), CFG).by_probe == {("acme", "ui", "default"): [(1790812800_000, True)]}


NOW = 1790812800.0  # 2026-10-01T00:00:00Z


@pytest.mark.parametrize(
    "stamp, refused",
    [
        ("2026-10-01T00:05:00Z", False),  # 5 minutes ahead: a clock a little fast
        ("2026-10-01T00:05:00.001Z", True),
        ("9999-12-31T23:59:59Z", True),
    ],
)
def test_rows_dated_ahead_of_now_are_refused(stamp, refused):
    text = rows("2026-09-30T23:00:00Z,acme,ui,1", f"{stamp},acme,ui,1")
    if not refused:
        assert len(parse(text, CFG, now=NOW).by_probe[("acme", "ui", "default")]) == 2
        return
    with pytest.raises(ImportError_) as err:
        parse(text, CFG, now=NOW)
    assert err.value.problems == [
        f"line 3: time {stamp!r} is more than 5 minutes ahead of now (2026-10-01T00:00:00.000Z): "
        "refused, check the file and this machine's clock"
    ]


@pytest.mark.parametrize(
    "text, problem",
    [
        (
            "time,tenant,probe\n",
            "line 1: expected the header time,tenant,probe,success or time,tenant,probe,success,location, "
            "got 'time,tenant,probe'",
        ),
        ("", "line 1: expected the header time,tenant,probe,success or time,tenant,probe,success,location, got ''"),
        (
            HEADER + "2026-10-01T00:00:00,acme,ui,1\n",
            "line 2: time '2026-10-01T00:00:00': expected RFC 3339 with an offset",
        ),
        (HEADER + "yesterday,acme,ui,1\n", "line 2: time 'yesterday': expected RFC 3339"),
        (HEADER + "2026-10-01T00:00:00Z,acme,ui,yes\n", "line 2: success 'yes': expected 1, 0, true or false"),
        (HEADER + "2026-10-01T00:00:00Z,acme,ui\n", "line 2: expected 4 fields (time,tenant,probe,success), got 3"),
        (HEADER + "2026-10-01T00:00:00Z,nobody,ui,1\n", "line 2: unknown tenant 'nobody': not in the config"),
        (HEADER + "2026-10-01T00:00:00Z,acme,voice,1\n", "line 2: unknown probe 'voice' of tenant 'acme'"),
        (
            HEADER + "\n2026-10-01T00:00:00Z,acme,ui,1\n2026-10-01T00:00:00Z,acme,ui,0\n",
            "line 4: contradicts line 3: same probe and time, other result",
        ),
    ],
)
def test_parse_refuses_with_line_number(text, problem):
    with pytest.raises(ImportError_) as err:
        parse(io.StringIO(text), CFG)
    assert err.value.problems[0].startswith(problem)


def test_many_bad_rows_are_reported_but_capped():
    with pytest.raises(ImportError_) as err:
        parse(rows(*["bad,acme,ui,1"] * 50), CFG)
    assert len(err.value.problems) == 21 and err.value.problems[-1].startswith("... and more")


def test_conflict_with_recorded_history_names_the_line_and_keeps_nothing(store_target, tmp_path):
    with Store(store_target) as store:
        import_observations(
            store, CFG, parse(rows("2026-10-01T00:00:00Z,acme,ui,1", "2026-10-01T00:01:00Z,acme,ui,1"), CFG)
        )
        before = store.series("acme", "ui", 0, 2 * 10**12)
        with pytest.raises(ImportError_) as err:
            import_observations(
                store,
                CFG,
                parse(
                    rows(
                        "2026-10-01T00:05:00Z,acme,api,1",
                        "2026-10-01T00:00:30Z,acme,ui,0",
                        "2026-10-01T00:01:00Z,acme,ui,0",
                    ),
                    CFG,
                ),
            )
        assert err.value.problems == [
            "line 4: acme/ui at 2026-10-01T00:01:00.000Z contradicts the recorded success at the same instant"
        ]
        assert store.series("acme", "ui", 0, 2 * 10**12) == before == [Series(True, 1790812800_000, 60_000, 2)]
        assert store.series("acme", "api", 0, 2 * 10**12) == []


@pytest.mark.parametrize("order", ["A then B", "B then A", "one file"])
def test_history_does_not_depend_on_import_order(store_target, tmp_path, order):
    """Issue 11: interval 60 s, threshold 3; A = 09:00 ok, 09:01 fail, 09:03 fail, 09:04 ok;
    B = 09:02 fail. Always 180 s down."""
    from exporter import report

    cfg = Config(
        tenants=(
            Tenant("acme", probes=(Probe("ui", "https://a/", interval=60, stale_after=120, failure_threshold=3),)),
        ),
        timezone="UTC",
    )
    a = [
        "2026-10-05T09:00:00Z,acme,ui,1",
        "2026-10-05T09:01:00Z,acme,ui,0",
        "2026-10-05T09:03:00Z,acme,ui,0",
        "2026-10-05T09:04:00Z,acme,ui,1",
    ]
    b = ["2026-10-05T09:02:00Z,acme,ui,0"]
    files = {"A then B": [a, b], "B then A": [b, a], "one file": [a + b]}[order]
    with Store(store_target) as store:
        added = [import_observations(store, cfg, parse(rows(*f), cfg)).result.added for f in files]
        doc = report.build(cfg, store, 2026, 10, list(cfg.tenants))
    assert sum(added) == 5
    assert doc["tenants"][0]["downtime_seconds"] == 180
    assert len(doc["tenants"][0]["outages"]) == 1


cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


@given(st.lists(st.lists(cell, min_size=0, max_size=6), max_size=8))
def test_arbitrary_rows_parse_or_are_refused_with_a_line(table):
    import csv

    buf = io.StringIO()
    buf.write(HEADER)
    csv.writer(buf).writerows(table)
    buf.seek(0)
    try:
        obs = parse(buf, CFG)
    except ImportError_ as err:
        assert all(p.startswith("line ") or p.startswith("...") for p in err.problems)
    else:
        assert sum(len(v) for v in obs.by_probe.values()) <= len(table)


# -- streaming: chunks, spilling to a scratch store, memory bounded ---------------------------

IRREGULAR = [
    f"2026-10-01T00:{m:02d}:{s:02d}.{ms:03d}Z,acme,{p},{int((m + s) % 7 != 0)}"
    for m in range(3)
    for s in range(0, 60, 7)
    for ms, p in (((s * s * 37 + m * 11) % 1000, "ui"), ((s * s * 53 + m * 7) % 1000, "api"))
]


@pytest.mark.parametrize(
    "chunk_rows, spill_series",
    [
        pytest.param(10**6, 10**6, id="one-chunk-in-memory"),
        pytest.param(5, 10**6, id="chunks-in-memory"),
        pytest.param(5, 8, id="chunks-spilled"),
        pytest.param(1, 1, id="every-row-spilled"),
    ],
)
def test_a_file_gives_the_same_history_however_it_streams(
    store_target, tmp_path, monkeypatch, chunk_rows, spill_series
):
    from exporter.store import importer

    monkeypatch.setattr(importer, "CHUNK_ROWS", chunk_rows)
    monkeypatch.setattr(importer, "SPILL_SERIES", spill_series)
    # Out of order and repeated rows too: the last third first, every row twice.
    lines = IRREGULAR[40:] + IRREGULAR[:40] + IRREGULAR[::3]
    with Store(store_target) as store:
        with parse(rows(*lines), CFG, spill_dir=str(tmp_path)) as obs:
            spilled = obs.scratch is not None
            summary = import_observations(store, CFG, obs)
        got = {p: store.series("acme", p, 0, 2 * 10**12) for p in ("ui", "api")}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("sla-import")]  # scratch removed
    assert spilled == (spill_series < 10**6)
    assert summary.rows == len(lines) and summary.result.added == len(IRREGULAR)
    assert {p: [(t, s.success) for s in got[p] for t in s.times()] for p in got} == {
        p: sorted(
            (importer.parse_time(line.split(",")[0]), line.endswith("1")) for line in IRREGULAR if f",{p}," in line
        )
        for p in ("ui", "api")
    }


@pytest.mark.parametrize("spill_series", [10**6, 2])
def test_a_bad_last_row_keeps_nothing_whatever_streamed_before(store_target, tmp_path, monkeypatch, spill_series):
    from exporter.store import importer

    monkeypatch.setattr(importer, "CHUNK_ROWS", 4)
    monkeypatch.setattr(importer, "SPILL_SERIES", spill_series)
    with Store(store_target) as store:
        with pytest.raises(ImportError_) as err:
            parse(rows(*IRREGULAR, "2026-10-01T00:09:00Z,acme,ui,maybe"), CFG, spill_dir=str(tmp_path))
        assert err.value.problems == [f"line {len(IRREGULAR) + 2}: success 'maybe': expected 1, 0, true or false"]
        assert store.series("acme", "ui", 0, 2 * 10**12) == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("sla-import")]  # scratch removed


@pytest.mark.parametrize(
    "chunk_rows, spill_series, seekable, expected",
    [
        (10**6, 10**6, True, "line 5: contradicts line 2: same probe and time, other result"),
        (2, 10**6, True, "line 5: contradicts line 2: same probe and time, other result"),  # across chunks
        (1, 1, True, "line 5: contradicts line 2: same probe and time, other result"),  # across spills
        (1, 1, False, "acme/ui at 2026-10-01T00:00:00.000Z: two rows with other results at the same instant"),
    ],
)
def test_contradicting_rows_are_named_however_far_apart(
    tmp_path, monkeypatch, chunk_rows, spill_series, seekable, expected
):
    from exporter.store import importer

    monkeypatch.setattr(importer, "CHUNK_ROWS", chunk_rows)
    monkeypatch.setattr(importer, "SPILL_SERIES", spill_series)
    text = rows(
        "2026-10-01T00:00:00Z,acme,ui,1",
        "2026-10-01T00:01:00Z,acme,ui,1",
        "2026-10-01T00:02:00Z,acme,api,1",
        "2026-10-01T00:00:00Z,acme,ui,0",
    )
    source = text if seekable else iter(text.getvalue().splitlines(keepends=True))
    with pytest.raises(ImportError_) as err:
        parse(source, CFG, spill_dir=str(tmp_path))
    problem = err.value.problems[0]
    assert problem.removeprefix("line 0: ") == expected


# -- the scratch database: parts appended, joined, merged when they overlap ------------------


def _import(target, text, chunk_rows, spill_series, write_chunk, monkeypatch, spill_dir, recorded=None):
    """Import ``recorded`` (all at once), then ``text`` streamed with these sizes; returns
    (observations added by ``text``, every probe's stored series)."""
    from exporter.store import importer

    with Store(target) as store:
        if recorded:
            import_observations(store, CFG, parse(rows(*recorded), CFG))
        with monkeypatch.context() as m:
            m.setattr(importer, "CHUNK_ROWS", chunk_rows)
            m.setattr(importer, "SPILL_SERIES", spill_series)
            m.setattr(importer, "WRITE_CHUNK", write_chunk)
            with parse(rows(*text), CFG, spill_dir=spill_dir) as obs:
                added = import_observations(store, CFG, obs).result.added
        assert store.verify_chains()[0] is None
        return added, {p: store.series("acme", p, 0, 2 * 10**12) for p in ("ui", "api")}


def _line(probe, k):
    """Row ``k`` of a probe: irregular times (30 s apart, give or take 0.5 s), and a result
    that depends on the row only, so that files overlapping each other never contradict."""
    t = 1790812800_000 + k * 30_000 + (k * k * 37) % 1000 - 500
    stamp = dt.datetime.fromtimestamp(t / 1000, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return f"{stamp},acme,{probe},{int((k * 7 + len(probe)) % 5 != 0)}"


_rows_st = st.lists(st.tuples(st.sampled_from(["ui", "api"]), st.integers(0, 40)), max_size=50)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    file=_rows_st.filter(bool),
    recorded=_rows_st,
    in_order=st.booleans(),
    chunk_rows=st.integers(1, 8),
    spill_series=st.integers(1, 6),
    write_chunk=st.integers(1, 5),
)
def test_a_spilled_import_stores_what_one_in_memory_does(
    tmp_path, monkeypatch, file, recorded, in_order, chunk_rows, spill_series, write_chunk
):
    """Spilled to the scratch database (packed parts, joined as read back, merged at the end
    when rows come out of order), merged into recorded history: the same observations as
    the same file held in memory, chains verifying; for a file in time order the very same
    series."""
    if in_order:
        file = sorted(file, key=lambda r: r[1])
    text = [_line(*r) for r in file]
    before = [_line(*r) for r in recorded]
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        spilled = _import(
            os.path.join(tmp, "a.db"), text, chunk_rows, spill_series, write_chunk, monkeypatch, tmp, before
        )
        held = _import(os.path.join(tmp, "b.db"), text, chunk_rows, 10**6, write_chunk, monkeypatch, tmp, before)
        assert not [p for p in os.listdir(tmp) if p.startswith("sla-import")]  # scratch removed
    assert spilled[0] == held[0] == len({r for r in file} - {r for r in recorded})
    observed = {p: [(t, s.success) for s in held[1][p] for t in s.times()] for p in held[1]}
    assert {p: [(t, s.success) for s in spilled[1][p] for t in s.times()] for p in spilled[1]} == observed
    assert observed == {
        p: sorted(
            {(parse_time(_line(p, k).split(",")[0]), _line(p, k).endswith("1")) for q, k in file + recorded if q == p}
        )
        for p in ("ui", "api")
    }
    if in_order:
        assert spilled[1] == held[1]


@pytest.mark.parametrize(
    "last, spill_series, problem",
    [
        # The last row contradicts the first, spilled parts ago.
        (0, 1, "line 42: contradicts line 2: same probe and time, other result"),
        (0, 10**6, "line 42: contradicts line 2: same probe and time, other result"),
        # The last row contradicts recorded history.
        (100, 1, "line 42: acme/ui at 2026-10-01T00:50:00.000Z contradicts the recorded failure at the same instant"),
        (
            100,
            10**6,
            "line 42: acme/ui at 2026-10-01T00:50:00.000Z contradicts the recorded failure at the same instant",
        ),
    ],
)
def test_irregular_rows_with_a_bad_last_row_keep_nothing(
    store_target, tmp_path, monkeypatch, last, spill_series, problem
):
    from exporter.store import importer

    monkeypatch.setattr(importer, "CHUNK_ROWS", 3)
    monkeypatch.setattr(importer, "SPILL_SERIES", spill_series)
    monkeypatch.setattr(importer, "WRITE_CHUNK", 2)
    first = _line("ui", 0)
    contradiction = f"{first[:-1]}{1 - int(first[-1])}"
    recorded = "2026-10-01T00:50:00Z,acme,ui,0"
    text = [_line(p, k) for k in range(20) for p in ("ui", "api")]
    text.append(contradiction if last == 0 else recorded[:-1] + "1")
    with Store(store_target) as store:
        import_observations(store, CFG, parse(rows(recorded), CFG))
        before = {p: store.series("acme", p, 0, 2 * 10**12) for p in ("ui", "api")}
        with pytest.raises(ImportError_) as err, parse(rows(*text), CFG, spill_dir=str(tmp_path)) as obs:
            import_observations(store, CFG, obs)
        assert err.value.problems == [problem]
        assert {p: store.series("acme", p, 0, 2 * 10**12) for p in ("ui", "api")} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("sla-import")]  # scratch removed
