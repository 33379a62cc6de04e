import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.importer import ImportError_, import_observations, parse
from exporter.model import Config, Probe, Tenant
from exporter.states import Run
from exporter.store import Store

CFG = Config(tenants=(Tenant("acme", probes=(Probe("ui", "https://a/", stale_after=120), Probe("api", "https://a/"))),))
HEADER = "time,tenant,probe,success\n"


def rows(*lines):
    return io.StringIO(HEADER + "".join(line + "\n" for line in lines))


@pytest.mark.parametrize(
    "line, value",
    [
        ("2026-10-01T00:00:00Z,acme,ui,1", (1790812800.0, True)),
        ("2026-10-01T03:00:00+03:00,acme,ui,0", (1790812800.0, False)),
        ("2026-10-01T00:00:00.250Z,acme,ui,true", (1790812800.25, True)),
        ("2026-10-01 00:00:00Z,acme,ui,FALSE", (1790812800.0, False)),
        (" 2026-10-01T00:00:00Z , acme , ui , 1 ", (1790812800.0, True)),
    ],
)
def test_parse_accepts(line, value):
    assert parse(rows(line), CFG).by_probe == {("acme", "ui"): [value]}


@pytest.mark.parametrize(
    "text, problem",
    [
        ("time,tenant,probe\n", "line 1: expected the header time,tenant,probe,success, got 'time,tenant,probe'"),
        ("", "line 1: expected the header time,tenant,probe,success, got ''"),
        (HEADER + "2026-10-01T00:00:00,acme,ui,1\n", "line 2: time '2026-10-01T00:00:00': expected RFC 3339 with an offset"),
        (HEADER + "yesterday,acme,ui,1\n", "line 2: time 'yesterday': expected RFC 3339"),
        (HEADER + "2026-10-01T00:00:00Z,acme,ui,yes\n", "line 2: success 'yes': expected 1, 0, true or false"),
        (HEADER + "2026-10-01T00:00:00Z,acme,ui\n", "line 2: expected 4 fields (time,tenant,probe,success), got 3"),
        (HEADER + "2026-10-01T00:00:00Z,nobody,ui,1\n", "line 2: unknown tenant 'nobody': not in the config"),
        (HEADER + "2026-10-01T00:00:00Z,acme,voice,1\n", "line 2: unknown probe 'voice' of tenant 'acme'"),
        (HEADER + "\n2026-10-01T00:00:00Z,acme,ui,1\n2026-10-01T00:00:00Z,acme,ui,0\n",
         "line 4: contradicts line 3: same probe and time, other result"),
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


def test_conflict_with_recorded_history_names_the_line_and_keeps_nothing(tmp_path):
    with Store(str(tmp_path / "s.db")) as store:
        import_observations(store, CFG, parse(rows("2026-10-01T00:00:00Z,acme,ui,1", "2026-10-01T00:01:00Z,acme,ui,1"), CFG))
        before = store.runs("acme", "ui", 0, 2e9)
        with pytest.raises(ImportError_) as err:
            import_observations(
                store, CFG,
                parse(rows("2026-10-01T00:05:00Z,acme,api,1", "2026-10-01T00:00:30Z,acme,ui,0"), CFG),
            )
        assert err.value.problems == [
            "line 3: acme/ui at 2026-10-01T00:00:30Z contradicts the recorded success "
            "from 2026-10-01T00:00:00Z to 2026-10-01T00:01:00Z"
        ]
        assert store.runs("acme", "ui", 0, 2e9) == before == [Run(True, 1790812800, 1790812860, 1790812980, 2)]
        assert store.runs("acme", "api", 0, 2e9) == []


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
