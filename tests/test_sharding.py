import pytest
from hypothesis import given, strategies as st

from exporter import config
from exporter.probing import sharding


@pytest.mark.parametrize("text, expected", [("0/1", (0, 1)), ("1/2", (1, 2)), ("4/5", (4, 5))])
def test_parse(text, expected):
    assert sharding.parse(text) == expected


@pytest.mark.parametrize("text", ["2/2", "1", "a/b", "0/0", "-1/2", "1/2/3", ""])
def test_parse_refuses(text):
    with pytest.raises(ValueError, match="expected I/N with 0 <= I < N"):
        sharding.parse(text)


def fleet(names):
    probes = '[{name: p, url: "http://x/"}]'
    return config.load_text("tenants:\n" + "".join(f"  - {{name: {n!r}, probes: {probes}}}\n" for n in names))


@given(
    st.lists(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz-0123456789", min_size=1, max_size=12),
        min_size=1,
        max_size=40,
        unique=True,
    ),
    st.integers(1, 5),
)
def test_shards_together_cover_every_tenant_exactly_once(names, count):
    cfg = fleet(names)
    parts = [[t.name for t in sharding.restrict(cfg, i, count).tenants] for i in range(count)]
    assert sorted(n for part in parts for n in part) == sorted(names)


def test_two_shards_of_a_real_fleet_split_it_and_stay_stable():
    cfg = fleet([f"tenant-{i:04d}" for i in range(1000)])
    a, b = (sharding.restrict(cfg, i, 2) for i in (0, 1))
    assert {t.name for t in a.tenants}.isdisjoint({t.name for t in b.tenants})
    assert len(a.tenants) + len(b.tenants) == 1000
    assert 400 < len(a.tenants) < 600  # roughly even
    assert a.tenant(a.tenants[0].name) is a.tenants[0] and b.tenant(a.tenants[0].name) is None
    assert sharding.shard_of("acme-prod", 2) == sharding.shard_of("acme-prod", 2)  # CRC-32: same everywhere


def test_two_replicas_serve_disjoint_tenants_covering_the_fleet(tmp_path):
    import signal

    from realproc import Exporter

    names = [f"t{i}" for i in range(12)]
    probes = '[{name: p, url: "http://127.0.0.1:9/", interval: 30s, timeout: 1s}]'
    text = "tenants:\n" + "".join(f"  - {{name: {n}, probes: {probes}}}\n" for n in names)
    replicas = []
    try:
        for i in range(2):
            (tmp_path / str(i)).mkdir()
            e = Exporter(tmp_path / str(i), text)
            e.extra_args = ["--shard", f"{i}/2"]
            e.start()
            replicas.append(e)
        served = [{labels[0][1] for (name, labels) in e.metrics() if name == "sla_target_ratio"} for e in replicas]
        assert served[0].isdisjoint(served[1]) and served[0] | served[1] == set(names)
        assert all(served)
    finally:
        for e in replicas:
            e.stop(signal.SIGKILL)
