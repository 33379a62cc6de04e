import pytest
from hypothesis import given, strategies as st

from exporter.engine.availability import Outage, figures
from exporter.engine.states import StateIntervals

# Month [0, 1000); maintenance [100, 200); down [150, 250) half inside maintenance;
# unknown [500, 600); target 0.9.
STATE = StateIntervals(up=[(0, 150), (250, 500), (600, 1000)], down=[(150, 250)], unknown=[(500, 600)])


@pytest.mark.parametrize(
    "now, expected",
    [
        pytest.param(
            None,
            dict(
                eligible=900,
                maintenance=100,
                downtime=50,
                unknown=100,
                availability=750 / 800,
                met=True,
                error_budget=90,
                error_budget_remaining=40,
            ),
            id="whole-month: downtime inside maintenance not counted, unknown neither up nor down",
        ),
        pytest.param(
            300,
            dict(
                eligible=200,
                maintenance=100,
                downtime=50,
                unknown=0,
                availability=150 / 200,
                met=False,
                error_budget=90,
                error_budget_remaining=40,
            ),
            id="month-to-date: budget still refers to the whole month",
        ),
        pytest.param(
            0,
            dict(
                eligible=0,
                maintenance=0,
                downtime=0,
                unknown=0,
                availability=None,
                met=None,
                error_budget=90,
                error_budget_remaining=90,
            ),
            id="at the month start nothing is known yet",
        ),
        pytest.param(
            5000,
            dict(
                eligible=900,
                maintenance=100,
                downtime=50,
                unknown=100,
                availability=750 / 800,
                met=True,
                error_budget=90,
                error_budget_remaining=40,
            ),
            id="now after month end is the whole month",
        ),
    ],
)
def test_figures(now, expected):
    f = figures(STATE, [(100, 200)], 0, 1000, 0.9, now)
    got = {k: getattr(f, k) for k in expected}
    assert got == expected


def test_outage_counted_only_outside_maintenance():
    f = figures(STATE, [(100, 200)], 0, 1000, 0.9)
    assert f.outages == (Outage(150, 250, 100, 50),)


def test_all_unknown_gives_no_availability():
    f = figures(StateIntervals([], [], [(0, 1000)]), [], 0, 1000, 0.9992)
    assert (f.availability, f.met, f.unknown, f.downtime) == (None, None, 1000, 0)


def test_all_maintenance_gives_no_availability_and_no_budget():
    f = figures(StateIntervals([], [(0, 1000)], []), [(-50, 2000)], 0, 1000, 0.9992)
    assert (f.availability, f.eligible, f.downtime, f.error_budget, f.maintenance) == (None, 0, 0, 0, 1000)
    assert f.outages == (Outage(0, 1000, 1000, 0),)


@pytest.mark.parametrize("target, met", [(0.9375, True), (0.93751, False)])
def test_met_is_availability_at_least_target(target, met):
    assert figures(STATE, [(100, 200)], 0, 1000, target).met is met


@pytest.mark.parametrize(
    "known, downtime, target, met",
    [
        # 99.92 % of 2,500,000 ms is exactly 2,498,000: met at the boundary, decided exactly
        # (as floats, 2498000 / 2500000 < 0.9992 would say no).
        (2_500_000, 2_000, 0.9992, True),
        (2_500_000, 2_001, 0.9992, False),
        (0, 0, 0.9992, None),
    ],
)
def test_met_is_decided_exactly(known, downtime, target, met):
    from exporter.engine.availability import met as met_

    assert met_(known, downtime, target) is met


@pytest.mark.parametrize(
    "target, eligible, budget",
    [
        (0.9992, 2_678_400_000, 2_142_720),  # 31 days: 2142.72 s, not 2142.7200000000003
        (0.9992, 1_001, 1),  # 0.8008 ms rounds to 1
        (0.9995, 1_000, 0),  # 0.5 ms: half to even
        (0.9985, 1_000, 2),  # 1.5 ms: half to even
    ],
)
def test_error_budget_is_exact_to_the_millisecond(target, eligible, budget):
    from exporter.engine.availability import error_budget

    assert error_budget(target, eligible) == budget


@given(
    st.lists(
        st.tuples(st.integers(0, 1000), st.integers(1, 80), st.sampled_from(["up", "down", "unknown"])), max_size=10
    ),
    st.lists(st.tuples(st.integers(0, 1000), st.integers(1, 200)), max_size=4),
    st.integers(0, 1000),
    st.integers(0, 400),
    st.sampled_from(["up", "down", "unknown"]),
)
def test_extend_equals_the_full_computation(stretches, windows, hi, more, last):
    """Figures up to hi, carried on to hi + more in state `last`, are the figures of the
    whole period computed at once."""
    from exporter.engine import intervals as iv
    from exporter.engine.availability import extend

    parts = {"up": [], "down": [], "unknown": []}
    for start, length, name in stretches:
        parts[name].append((start, start + length))
    # Make the three sets a partition of [0, hi) ending in `last`, then continue it.
    down = iv.clip(iv.normalize(parts["down"]), 0, hi)
    unknown = iv.clip(iv.subtract(iv.normalize(parts["unknown"]), down), 0, hi)
    up = iv.subtract([(0, hi)], iv.union(down, unknown)) if hi else []
    sets = {"up": up, "down": down, "unknown": unknown}
    end = hi + more
    tail = [(hi, end)] if more else []
    whole = {k: iv.union(v, tail if k == last else []) for k, v in sets.items()}
    if hi:  # the stretch at hi belongs to `last`
        for k in sets:
            sets[k] = iv.subtract(sets[k], [(hi - 1, hi)])
            whole[k] = iv.subtract(whole[k], [(hi - 1, hi)])
        sets[last] = iv.union(sets[last], [(hi - 1, hi)])
        whole[last] = iv.union(whole[last], [(hi - 1, hi)])
    maintenance = iv.normalize((s, s + n) for s, n in windows)
    month_end = 2000
    before = figures(StateIntervals(**sets), maintenance, 0, month_end, 0.99, hi)
    got = extend(before, last, end, maintenance)
    expected = figures(StateIntervals(**whole), maintenance, 0, month_end, 0.99, end)
    # Integer milliseconds: the incremental path is exact, not approximately right.
    assert got == expected
