"""``--shard I/N``: N replicas split a fleet, each probing the tenants whose stable hash
falls on its shard. The hash is CRC-32 of the tenant name, the same on every replica and
every restart, so a tenant's history stays in one replica's store as long as N is fixed."""

from __future__ import annotations

import dataclasses
import zlib

from exporter.model import Config


def parse(text: str) -> tuple[int, int]:
    """``"0/3"`` -> (0, 3); shards count from 0 like Prometheus's hashmod."""
    index, sep, count = text.partition("/")
    if not sep or not index.isdigit() or not count.isdigit() or int(count) < 1 or int(index) >= int(count):
        raise ValueError(f"expected I/N with 0 <= I < N, e.g. 0/2 and 1/2, got {text!r}")
    return int(index), int(count)


def shard_of(tenant: str, count: int) -> int:
    return zlib.crc32(tenant.encode("utf-8")) % count


def restrict(cfg: Config, index: int, count: int) -> Config:
    """The config with only this shard's tenants."""
    if count == 1:
        return cfg
    return dataclasses.replace(
        cfg, tenants=tuple(t for t in cfg.tenants if shard_of(t.name, count) == index), _by_name={}
    )
