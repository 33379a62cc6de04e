"""The validated configuration: frozen dataclasses built once by ``config.load``.

Everything downstream (calendar, availability, store, daemon) reads these and never the
raw YAML. Durations are seconds (float), targets are ratios (0-1).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

DEFAULT_TIMEZONE = "Europe/Helsinki"
DEFAULT_TARGET = 0.9992


@dataclass(frozen=True)
class EnvRef:
    """A header value read from an environment variable when the probe runs."""

    env: str


@dataclass(frozen=True)
class Window:
    """A maintenance window: ``start`` local wall time in ``timezone`` on the days that
    ``rrule`` selects (RFC 5545 RRULE without DTSTART) or on ``date``; lasts ``duration``
    seconds of elapsed time."""

    name: str
    start: dt.time
    duration: float
    timezone: str
    rrule: str | None = None
    date: dt.date | None = None


@dataclass(frozen=True)
class Probe:
    name: str
    url: str
    interval: float = 30.0
    timeout: float = 10.0
    failure_threshold: int = 1
    stale_after: float = 60.0  # default: 2 x interval, resolved by the loader
    expect_status: tuple[int, ...] = ()  # empty: any 2xx
    expect_body: str | None = None  # substring the body must contain
    expect_body_regex: str | None = None  # regex the body must match (re.search)
    headers: tuple[tuple[str, str | EnvRef], ...] = ()
    ca_file: str | None = None
    tls_verify: bool = True


@dataclass(frozen=True)
class Tenant:
    name: str
    probes: tuple[Probe, ...]
    environment: str = "production"  # production | non-production
    down_when: str = "any"  # any | all
    target: float = DEFAULT_TARGET
    windows: tuple[Window, ...] = ()  # top-level windows followed by the tenant's own

    @property
    def production(self) -> bool:
        return self.environment == "production"


@dataclass(frozen=True)
class Config:
    tenants: tuple[Tenant, ...]
    timezone: str = DEFAULT_TIMEZONE
    target: float = DEFAULT_TARGET
    windows: tuple[Window, ...] = ()  # top-level windows only
    source: str = "<config>"
    _by_name: dict = field(default_factory=dict, compare=False, repr=False)

    def tenant(self, name: str) -> Tenant | None:
        if not self._by_name:
            self._by_name.update((t.name, t) for t in self.tenants)
        return self._by_name.get(name)
