import itertools

import pytest
from hypothesis import given, strategies as st

from exporter.engine import intervals as iv
from exporter.engine.states import (
    ConflictError,
    Run,
    Series,
    StateIntervals,
    append,
    append_run,
    extended,
    insert,
    merge as merge_series,
    next_run,
    pack,
    probe_state,
    quorum_state,
    runs,
    series_of,
    tenant_state,
    unpack,
)

T, F = True, False


def merge(parts, stale, until=None):
    """Observations imported part by part, read as runs under ``stale``."""
    series = []
    for part in parts:
        series, _ = insert(series, part)
    return runs(series, stale, until)


@pytest.mark.parametrize(
    "parts, stale, expected",
    [
        pytest.param(
            [[(0, T), (30, T), (60, F), (90, F), (120, T)]],
            60,
            [Run(T, 0, 30, 60, 2), Run(F, 60, 90, 120, 2), Run(T, 120, 120, 180, 1)],
            id="runs-from-scratch",
        ),
        pytest.param([[(0, T), (100, T)]], 60, [Run(T, 0, 0, 60, 1), Run(T, 100, 100, 160, 1)], id="gap-splits"),
        pytest.param([[(0, T), (60, T)]], 60, [Run(T, 0, 60, 120, 2)], id="gap-equal-to-stale-joins"),
        pytest.param([[(60, T), (0, T)]], 60, [Run(T, 0, 60, 120, 2)], id="unsorted-input"),
        pytest.param([[(0, F), (0, F), (30, F)]], 60, [Run(F, 0, 30, 90, 2)], id="duplicate-counted-once"),
        pytest.param(
            [[(0, T), (30, T), (100, T), (130, T)], [(65, T)]], 60, [Run(T, 0, 130, 190, 5)], id="bridge-two-runs"
        ),
        pytest.param(
            [[(0, T), (30, T)], [(50, F)]],
            60,
            [Run(T, 0, 30, 50, 2), Run(F, 50, 50, 110, 1)],
            id="next-observation-ends-coverage",
        ),
        pytest.param(
            [[(0, T), (30, T)], [(0, T), (30, T)]], 60, [Run(T, 0, 30, 90, 2)], id="already-recorded-is-a-no-op"
        ),
        pytest.param([[(100, F)], [(90, F)]], 60, [Run(F, 90, 100, 160, 2)], id="prepend-to-run"),
        # Issue 11: a backfilled observation inside a recorded series with the same result
        # counts toward its run: A = 09:00 ok, 09:01 fail, 09:03 fail, 09:04 ok; B = 09:02 fail.
        pytest.param(
            [[(0, T), (60, F), (180, F), (240, T)], [(120, F)]],
            60,
            [Run(T, 0, 0, 60, 1), Run(F, 60, 180, 240, 3), Run(T, 240, 240, 300, 1)],
            id="backfill-inside-a-series-counts",
        ),
        pytest.param(
            [[(120, F)], [(0, T), (60, F), (180, F), (240, T)]],
            60,
            [Run(T, 0, 0, 60, 1), Run(F, 60, 180, 240, 3), Run(T, 240, 240, 300, 1)],
            id="the-other-order-gives-the-same",
        ),
        # A gap exactly equal to a fractional stale_after (2.2 s) does not split the run.
        pytest.param(
            [[(1_000, F), (3_200, F), (5_400, T)]],
            2_200,
            [Run(F, 1_000, 3_200, 5_400, 2), Run(T, 5_400, 5_400, 7_600, 1)],
            id="gap-equal-to-2.2s",
        ),
        # Read under a shorter stale_after, an evenly spaced series falls apart.
        pytest.param(
            [[(0, T), (100, T), (200, T)]],
            60,
            [Run(T, 0, 0, 60, 1), Run(T, 100, 100, 160, 1), Run(T, 200, 200, 260, 1)],
            id="series-wider-than-stale",
        ),
    ],
)
def test_runs_from_observations(parts, stale, expected):
    assert merge(parts, stale) == expected


@pytest.mark.parametrize(
    "until, expected",
    [
        (None, [Run(T, 0, 60, 90, 3), Run(F, 90, 120, 180, 2)]),
        (91, [Run(T, 0, 60, 90, 3), Run(F, 90, 90, 150, 1)]),
        (90, [Run(T, 0, 60, 120, 3)]),
        (30, [Run(T, 0, 0, 60, 1)]),
        (0, []),
    ],
)
def test_runs_cut_at_until(until, expected):
    assert merge([[(0, T), (30, T), (60, T), (90, F), (120, F)]], 60, until) == expected


@pytest.mark.parametrize(
    "recorded, obs",
    [
        ([(0, T), (30, T), (60, T)], [(30, F)]),
        ([(0, F)], [(0, T)]),
        ([], [(5, T), (5, F)]),
    ],
)
def test_insert_conflicts(recorded, obs):
    series, _ = insert([], recorded)
    with pytest.raises(ConflictError):
        insert(series, obs)


RUNS = [Run(T, 0, 30, 60, 2), Run(F, 60, 90, 120, 2), Run(T, 120, 120, 180, 1)]


@pytest.mark.parametrize(
    "threshold, lo, hi, up, down, unknown",
    [
        (1, 0, 200, [(0, 60), (120, 180)], [(60, 120)], [(180, 200)]),
        (2, 0, 200, [(0, 60), (120, 180)], [(60, 120)], [(180, 200)]),
        (3, 0, 200, [(0, 180)], [], [(180, 200)]),  # two failures do not reach 3: up
        (1, 70, 150, [(120, 150)], [(70, 120)], []),
        (1, 300, 400, [], [], [(300, 400)]),
        (1, 50, 50, [], [], []),
    ],
)
def test_probe_state(threshold, lo, hi, up, down, unknown):
    assert probe_state(RUNS, threshold, lo, hi) == StateIntervals(up, down, unknown)


A = StateIntervals(up=[(0, 50)], down=[(50, 100)], unknown=[])
B = StateIntervals(up=[(0, 30)], down=[(70, 100)], unknown=[(30, 70)])
C = StateIntervals(up=[], down=[], unknown=[(0, 100)])


@pytest.mark.parametrize(
    "probes, down_when, expected",
    [
        ([A, B], "any", StateIntervals(up=[(0, 30)], down=[(50, 100)], unknown=[(30, 50)])),
        ([A, B], "all", StateIntervals(up=[(0, 50)], down=[(70, 100)], unknown=[(50, 70)])),
        ([A, C], "any", StateIntervals(up=[], down=[(50, 100)], unknown=[(0, 50)])),
        ([A, C], "all", StateIntervals(up=[(0, 50)], down=[], unknown=[(50, 100)])),
        ([A], "all", A),
        ([A], "any", A),
    ],
)
def test_tenant_state(probes, down_when, expected):
    assert tenant_state(probes, down_when, 0, 100) == expected


observations = st.lists(st.tuples(st.integers(0, 500), st.booleans()), max_size=40, unique_by=lambda o: o[0])


def naive_state(obs, stale, threshold, lo, hi):
    """The docs/semantics.md definition, observation by observation."""
    obs = sorted(obs)
    cover = [(t, min(obs[i + 1][0], t + stale) if i + 1 < len(obs) else t + stale, ok) for i, (t, ok) in enumerate(obs)]
    cells = {}
    i = 0
    while i < len(cover):
        j = i  # the run: same result, no gap in coverage
        while j + 1 < len(cover) and cover[j + 1][2] == cover[i][2] and cover[j][1] == cover[j + 1][0]:
            j += 1
        state = "up" if cover[i][2] or j - i + 1 < threshold else "down"
        for a, b, _ in cover[i : j + 1]:
            for k in range(max(a, lo), min(b, hi)):
                cells[k] = state
        i = j + 1
    return {s: {k for k in range(lo, hi) if cells.get(k, "unknown") == s} for s in ("up", "down", "unknown")}


def cells(s):
    return {k for a, b in s for k in range(int(a), int(b))}


@given(observations, st.integers(1, 4), st.integers(5, 80))
def test_runs_agree_with_the_definition(obs, threshold, stale):
    state = probe_state(merge([obs], stale), threshold, 0, 600)
    expected = naive_state(obs, stale, threshold, 0, 600)
    assert {"up": cells(state.up), "down": cells(state.down), "unknown": cells(state.unknown)} == expected


@given(observations, st.integers(5, 80), st.integers(0, 40), st.integers(1, 3))
def test_history_is_the_same_whatever_the_import_order_and_split(obs, stale, cut, threshold):
    whole, _ = insert([], obs)
    again, added = insert(whole, obs)
    assert (again, added) == (whole, 0)  # importing twice changes nothing
    one = runs(whole, stale)
    assert merge([obs[:cut], obs[cut:]], stale) == one
    assert merge([obs[cut:], obs[:cut]], stale) == one
    assert probe_state(merge([obs[cut:], obs[:cut]], stale), threshold, 0, 600) == probe_state(one, threshold, 0, 600)


@given(
    observations,
    st.integers(1, 3),
    st.integers(5, 80),
    st.integers(0, 600),
    st.sampled_from(["any", "all"]),
    observations,
)
def test_instant_states_agree_with_the_interval_ones(obs, threshold, stale, t, down_when, other):
    from exporter.engine.states import probe_state_at, tenant_state_at

    def name(s):
        return "down" if s.down else "unknown" if s.unknown else "up"

    both = [merge([o], stale) for o in (obs, other)]
    interval_states = [probe_state(r, threshold, t, t + 1) for r in both]
    instant = [probe_state_at(r[-1] if r else None, threshold, t) for r in both]
    # The last run decides the present: compare where t is not before it began.
    if all(not r or r[-1].start <= t for r in both):
        assert instant == [name(s) for s in interval_states]
        assert tenant_state_at(instant, down_when) == name(tenant_state(interval_states, down_when, t, t + 1))


# Regular stretches (a steady probe), so that whole series meet, overlap and continue.
regular = st.lists(
    st.tuples(st.integers(0, 40), st.sampled_from([1, 3, 5]), st.integers(1, 8), st.booleans()),
    max_size=6,
).map(lambda parts: [(a * 5 + i * step, ok) for a, step, n, ok in parts for i in range(n)])


@given(regular | observations, regular | observations)
def test_merging_series_is_inserting_their_observations(old_obs, new_obs):
    try:
        old, _ = insert([], old_obs)
        new, _ = insert([], new_obs)
    except ConflictError:
        return  # each side must be consistent in itself
    try:
        expected = insert(old, new_obs)
    except ConflictError as err:
        with pytest.raises(ConflictError) as raised:
            merge_series(old, new)
        assert raised.value.time == err.time
        return
    got, added = merge_series(old, new)
    # The same observations and count; the split into series may differ (both are evenly
    # spaced stretches of equal results), and runs read them the same.
    assert (observed(got), added) == (observed(expected[0]), expected[1])
    assert all(a.last < b.start for a, b in itertools.pairwise(got))
    assert runs(got, 7) == runs(expected[0], 7)


def observed(series):
    return [(t, s.success) for s in series for t in s.times()]


@pytest.mark.parametrize(
    "old, new, expected, added",
    [
        pytest.param([], [Series(T, 0, 10, 100)], [Series(T, 0, 10, 100)], 100, id="into-nothing"),
        # Into nothing (the fast path): new series that continue each other are joined as
        # they are pushed, the others kept as they are.
        pytest.param([], [Series(T, 0, 0, 1), Series(T, 7, 0, 1)], [Series(T, 0, 7, 2)], 2, id="nothing-1+1"),
        pytest.param([], [Series(T, 0, 5, 2), Series(T, 10, 0, 1)], [Series(T, 0, 5, 3)], 3, id="nothing-2+1"),
        pytest.param([], [Series(T, 0, 0, 1), Series(T, 5, 5, 2)], [Series(T, 0, 5, 3)], 3, id="nothing-1+2"),
        pytest.param(
            [],
            [Series(T, 0, 5, 2), Series(T, 10, 5, 2), Series(T, 20, 0, 1)],
            [Series(T, 0, 5, 5)],
            5,
            id="nothing-chain",
        ),
        pytest.param(
            [],
            [Series(T, 0, 5, 2), Series(T, 11, 0, 1), Series(F, 12, 0, 1), Series(F, 20, 3, 2)],
            [Series(T, 0, 5, 2), Series(T, 11, 0, 1), Series(F, 12, 0, 1), Series(F, 20, 3, 2)],
            6,
            id="nothing-other-gap-step-result",
        ),
        pytest.param(
            [],
            [Series(T, 0, 0, 1), Series(T, 10, 20, 2)],
            [Series(T, 0, 0, 1), Series(T, 10, 20, 2)],
            3,
            id="nothing-1+2-gap",
        ),
        pytest.param([], [], [], 0, id="nothing-into-nothing"),
        pytest.param([Series(T, 0, 10, 100)], [Series(T, 1000, 10, 100)], [Series(T, 0, 10, 200)], 100, id="continues"),
        pytest.param([Series(T, 0, 10, 100)], [Series(T, 0, 10, 100)], [Series(T, 0, 10, 100)], 0, id="again"),
        pytest.param(
            [Series(T, 0, 10, 3)],
            [Series(F, 5, 0, 1)],
            [Series(T, 0, 0, 1), Series(F, 5, 0, 1), Series(T, 10, 10, 2)],
            1,
            id="splits",
        ),
    ],
)
def test_merge_series(old, new, expected, added):
    assert merge_series(old, new) == (expected, added)


@pytest.mark.parametrize(
    "new",
    [
        pytest.param([Series(T, 0, 0, 1), Series(T, 0, 0, 1)], id="same-start"),
        pytest.param([Series(T, 0, 5, 3), Series(F, 10, 0, 1)], id="overlap"),
        pytest.param([Series(T, 10, 0, 1), Series(T, 0, 0, 1)], id="unsorted"),
    ],
)
def test_merge_series_into_nothing_refuses_unsorted_new(new):
    with pytest.raises(ValueError, match="sorted with disjoint spans"):
        merge_series([], new)


@given(observations)
def test_series_of_sorted_observations_is_inserting_them(obs):
    assert series_of(sorted(obs)) == insert([], obs)[0]


# -- several locations: the quorum ------------------------------------------------------------

location_states = st.lists(st.sampled_from(["up", "down", "unknown"]), min_size=12, max_size=12).map(
    lambda cells: StateIntervals(
        *(
            iv.normalize([(k * 50, k * 50 + 50) for k, c in enumerate(cells) if c == name])
            for name in ("up", "down", "unknown")
        )
    )
)


@given(st.lists(location_states, min_size=1, max_size=4), st.integers(1, 5), st.integers(0, 600), st.integers(0, 600))
def test_quorum_state_is_the_rule_at_every_instant(locations, quorum, lo, hi):
    """docs/semantics.md: down while at least K locations see it down; otherwise unknown
    while fewer than K have a known state; otherwise up."""
    lo, hi = min(lo, hi), max(lo, hi)
    locations = [StateIntervals(*(iv.clip(part, lo, hi) for part in s)) for s in locations]  # as probe_state gives
    got = quorum_state(locations, quorum, lo, hi)
    for t in range(lo, hi):
        seen = [
            next(n for n in ("up", "down", "unknown") if any(a <= t < b for a, b in getattr(s, n)) or n == "unknown")
            for s in locations
        ]
        expected = (
            "down"
            if seen.count("down") >= quorum
            else "unknown"
            if len(seen) - seen.count("unknown") < quorum
            else "up"
        )
        assert any(a <= t < b for a, b in getattr(got, expected)), (t, seen, got)
    assert iv.total(got.up) + iv.total(got.down) + iv.total(got.unknown) == hi - lo


def test_one_location_with_quorum_one_is_that_location():
    state = StateIntervals([(0, 10)], [(10, 20)], [(20, 30)])
    assert quorum_state([state], 1, 0, 30) is state


SORTED = StateIntervals([(0, 60), (120, 180)], [(60, 120)], [(180, 200)])


@pytest.mark.parametrize(
    "given_runs, expected",
    [
        (RUNS, SORTED),
        (RUNS[::-1], SORTED),  # out of order: the general path sorts and merges
        (iter(RUNS), SORTED),  # any iterable, read once
        # overlapping coverage: up from 0 to 90 and down from 60 to 120, as the general path gives it
        (
            [Run(T, 0, 30, 60, 2), Run(T, 20, 50, 90, 2), Run(F, 60, 90, 120, 2), Run(T, 120, 120, 180, 1)],
            StateIntervals([(0, 90), (120, 180)], [(60, 120)], [(180, 200)]),
        ),
    ],
)
def test_probe_state_of_runs_in_any_order(given_runs, expected):
    assert probe_state(given_runs, 1, 0, 200) == expected


@pytest.mark.parametrize("down_when", ["any", "all"])
def test_tenant_state_all_up(down_when):
    up = StateIntervals(up=[(0, 100)], down=[], unknown=[])
    assert tenant_state([up, up], down_when, 0, 100) == up


@pytest.mark.parametrize("step", [30_000, 60_000, 0, 86_400_000])
def test_shared_step_is_the_same_value_as_one_object(step):
    from exporter.engine.states import shared_step

    first, second = shared_step(int(str(step))), shared_step(int(str(step)))  # two int objects in
    assert first == step and second is first


@given(observations, st.integers(5, 80), st.integers(0, 40))
def test_the_last_series_and_run_alone_grow_as_the_whole_lists(obs, stale, cut):
    """What the recorder keeps of a live history (the last series; the runs before the last
    packed, the last one whole) grows result by result into what the whole lists hold."""
    obs = sorted(obs)
    series, run_list = [], []
    tail, last, done = None, None, pack([])
    for i, (t, ok) in enumerate(obs):
        append(series, t, ok)
        append_run(run_list, t, ok, stale)
        tail = extended(tail, t, ok)
        complete, last = next_run(last, t, ok, stale)
        if complete is not None:
            done = pack([complete], done)
        assert tail == series[-1]
        assert [*unpack(done), last] == run_list
        if i == cut:  # packed from a list part way (a restart reads history so)
            done = pack(run_list[:-1])
    assert series == series_of(obs)
    assert run_list == runs(series, stale)


@pytest.mark.parametrize(
    "given_runs",
    [
        [],
        [Run(True, 0, 0, 10, 1)],
        [Run(False, -5, 3, 7, 2), Run(True, 7, 2**62, 2**62 + 20_000, 10**9)],  # far ends, counts
    ],
)
def test_packed_runs_unpack_to_equal_runs(given_runs):
    got = unpack(pack(given_runs))
    assert got == given_runs
    assert all(type(r) is Run and type(r.success) is bool for r in got)
