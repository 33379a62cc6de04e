import pytest
from hypothesis import given, strategies as st

from exporter.engine import intervals as iv

pairs = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=12)


def points(s):
    """The set as the integer unit cells [k, k+1) it covers (bounds are integers here)."""
    return {k for a, b in s for k in range(int(a), int(b))}


def is_normal(s):
    return all(a < b for a, b in s) and all(s[i][1] < s[i + 1][0] for i in range(len(s) - 1))


@pytest.mark.parametrize(
    "given_pairs, expected",
    [
        ([], []),
        ([(5, 5)], []),
        ([(3, 1)], []),
        ([(0, 2), (1, 3)], [(0, 3)]),
        ([(0, 2), (2, 3)], [(0, 3)]),  # touching pairs merge
        ([(4, 6), (0, 1)], [(0, 1), (4, 6)]),
        ([(0, 10), (2, 3)], [(0, 10)]),
    ],
)
def test_normalize(given_pairs, expected):
    assert iv.normalize(given_pairs) == expected


@pytest.mark.parametrize(
    "a, b, union, inter, minus",
    [
        ([(0, 10)], [(5, 15)], [(0, 15)], [(5, 10)], [(0, 5)]),
        ([(0, 10)], [(2, 3), (5, 6)], [(0, 10)], [(2, 3), (5, 6)], [(0, 2), (3, 5), (6, 10)]),
        ([(0, 1), (2, 3)], [(1, 2)], [(0, 3)], [], [(0, 1), (2, 3)]),
        ([], [(1, 2)], [(1, 2)], [], []),
        ([(0, 5)], [(0, 5)], [(0, 5)], [(0, 5)], []),
    ],
)
def test_operations(a, b, union, inter, minus):
    assert iv.union(a, b) == union
    assert iv.intersect(a, b) == inter
    assert iv.subtract(a, b) == minus


@pytest.mark.parametrize(
    "s, lo, hi, expected",
    [([(0, 10), (20, 30)], 5, 25, [(5, 10), (20, 25)]), ([(0, 10)], 10, 20, []), ([(0, 10)], 8, 3, [])],
)
def test_clip(s, lo, hi, expected):
    assert iv.clip(s, lo, hi) == expected


def test_intersect_all_of_nothing_is_empty():
    assert iv.intersect_all([]) == []
    assert iv.intersect_all([[(0, 4)], [(1, 5)], [(2, 9)]]) == [(2, 4)]


@given(pairs)
def test_normalize_is_normal_and_keeps_points(p):
    s = iv.normalize(p)
    assert is_normal(s)
    assert points(s) == points(p)
    assert iv.normalize(s) == s


@given(pairs, pairs)
def test_set_laws(p, q):
    a, b = iv.normalize(p), iv.normalize(q)
    for result, expected in [
        (iv.union(a, b), points(a) | points(b)),
        (iv.intersect(a, b), points(a) & points(b)),
        (iv.subtract(a, b), points(a) - points(b)),
    ]:
        assert is_normal(result)
        assert points(result) == expected
    # Inclusion-exclusion on lengths, the identity the availability figures rest on.
    assert iv.total(iv.union(a, b)) == iv.total(a) + iv.total(b) - iv.total(iv.intersect(a, b))
    assert iv.total(iv.subtract(a, b)) == iv.total(a) - iv.total(iv.intersect(a, b))


@given(st.lists(pairs, max_size=4))
def test_intersect_all_matches_pointwise(ps):
    sets = [iv.normalize(p) for p in ps]
    expected = set.intersection(*(points(s) for s in sets)) if sets else set()
    assert points(iv.intersect_all(sets)) == expected
