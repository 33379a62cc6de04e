"""The validated configuration: frozen dataclasses built once by ``config.load``.

Everything downstream (calendar, availability, store, daemon) reads these and never the
raw YAML. Durations are seconds (float) parsed from exact milliseconds (the ``*_ms``
properties give those back), targets are ratios (0-1). The records a fleet has by the ten
thousand (tenants, probes, windows, credit tiers) have slots: no dict of their own, a
quarter less memory for a config of 10,000 tenants.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

DEFAULT_TIMEZONE = "Europe/Helsinki"
DEFAULT_TARGET = 0.9992
DEFAULT_CORRECTIONS_MAX_AGE_MS = 90 * 86_400_000  # sla.corrections.max_age: 90d
DEFAULT_LOCATION = "default"  # run --location, the import's location column


# Why a probe run did not succeed. The vendor's failures are downtime; ours (the monitor's
# own: its config, secrets, descriptors, memory, resolver, network, clock, code) make the
# time unknown and are never booked against the vendor (docs/semantics.md, "Ours and the
# vendor's").
VENDOR_REASONS = ("timeout", "connection", "tls", "dns", "status", "body", "redirect")
OUR_REASONS = ("config", "resources", "resolver", "network", "internal", "clock")


@dataclass(frozen=True, slots=True)
class EnvRef:
    """A header value read from an environment variable when the probe runs."""

    env: str


@dataclass(frozen=True, slots=True)
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

    @property
    def duration_ms(self) -> int:
        return round(self.duration * 1000)  # exact: durations are parsed to whole ms


@dataclass(frozen=True, slots=True)
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

    # Exact: durations are parsed to whole milliseconds, the unit history is read in.
    @property
    def interval_ms(self) -> int:
        return round(self.interval * 1000)

    @property
    def stale_after_ms(self) -> int:
        return round(self.stale_after * 1000)


@dataclass(frozen=True, slots=True)
class CreditTier:
    """A service credit: ``credit`` (ratio of the monthly fee) when availability is below
    ``below`` (a ratio, the decimal as written)."""

    below: float
    credit: float


@dataclass(frozen=True, slots=True)
class Tenant:
    name: str
    probes: tuple[Probe, ...]
    environment: str = "production"  # production | non-production
    down_when: str = "any"  # any | all
    target: float = DEFAULT_TARGET
    windows: tuple[Window, ...] = ()  # top-level windows followed by the tenant's own
    credits: tuple[CreditTier, ...] = ()  # sla.credits (the tenant's own, else the top level's)
    corrections_max_age_ms: int = DEFAULT_CORRECTIONS_MAX_AGE_MS  # sla.corrections.max_age
    quorum: int = 1  # locations.quorum: locations that must see a probe down

    @property
    def production(self) -> bool:
        return self.environment == "production"


@dataclass(frozen=True)
class BusinessHours:
    """When support works on business-clock priorities: ``days`` (Monday = 0) from
    ``open`` to ``close`` local time, except public holidays of ``country`` (and
    ``subdivision``) from the holidays package and ``closed_dates``."""

    timezone: str = DEFAULT_TIMEZONE
    days: tuple[int, ...] = (0, 1, 2, 3, 4)
    open: dt.time = dt.time(8, 0)
    close: dt.time = dt.time(16, 30)
    country: str | None = "FI"
    subdivision: str | None = None
    closed_dates: frozenset[dt.date] = frozenset()

    @property
    def business_day(self) -> float:
        """Seconds of business time in one business day (8.5 h by default)."""
        return float((self.close.hour * 60 + self.close.minute - self.open.hour * 60 - self.open.minute) * 60)


@dataclass(frozen=True)
class Priority:
    """Targets of one incident priority, in seconds of its clock (elapsed for ``24/7``,
    business time for ``business``); None where the terms set none."""

    name: str
    clock: str  # "24/7" | "business"
    initial_response: float | None
    communication: float | None
    resolution: float | None = None
    defect_communication: float | None = None  # replaces communication for product defects


HOUR = 3600.0
BUSINESS_DAY = 8.5 * HOUR
DEFAULT_PRIORITIES = (
    Priority("P1", "24/7", 1 * HOUR, 1 * HOUR, resolution=4 * HOUR),
    Priority("P2", "24/7", 4 * HOUR, 6 * HOUR),
    Priority("P3", "business", 1 * BUSINESS_DAY, 3 * BUSINESS_DAY, defect_communication=10 * BUSINESS_DAY),
    Priority("P4", "business", 2 * BUSINESS_DAY, 5 * BUSINESS_DAY),
)


@dataclass(frozen=True)
class Support:
    """The support terms: business calendar, priority targets, service requests, API."""

    calendar: BusinessHours = BusinessHours()
    priorities: tuple[Priority, ...] = DEFAULT_PRIORITIES
    service_request_delivery: float = 3 * BUSINESS_DAY  # business time
    production_only: frozenset[str] = frozenset({"P1", "P2"})
    api_token_file: str | None = None
    api_token_env: str | None = None

    def priority(self, name: str) -> Priority | None:
        return next((p for p in self.priorities if p.name == name), None)


@dataclass(frozen=True)
class Monitor:
    """The monitor's view of itself. ``canaries``: URLs that answer whenever our own network
    works; while every one fails, failures that could be our network's (timeout,
    connection, DNS, TLS) are ours, not the vendor's."""

    canaries: tuple[str, ...] = ()
    canary_timeout: float = 2.0


@dataclass(frozen=True)
class Config:
    tenants: tuple[Tenant, ...]
    timezone: str = DEFAULT_TIMEZONE
    target: float = DEFAULT_TARGET
    windows: tuple[Window, ...] = ()  # top-level windows only
    credits: tuple[CreditTier, ...] = ()  # top-level sla.credits
    corrections_max_age_ms: int = DEFAULT_CORRECTIONS_MAX_AGE_MS
    support: Support = Support()
    monitor: Monitor = Monitor()
    source: str = "<config>"
    _by_name: dict[str, Tenant] = field(default_factory=dict, compare=False, repr=False)

    def tenant(self, name: str) -> Tenant | None:
        if not self._by_name:
            self._by_name.update((t.name, t) for t in self.tenants)
        return self._by_name.get(name)


# -- support records: what the store keeps of incidents and service requests -----------


@dataclass(frozen=True)
class Event:
    kind: str  # response, communication, workaround, resolution or priority
    time: float
    priority: str | None = None  # the new priority, for kind "priority"
    note: str | None = None


@dataclass(frozen=True)
class Incident:
    id: str
    tenant: str
    priority: str  # as opened
    opened: float
    defect: bool = False
    source: str = "filed"  # filed | detected
    title: str | None = None
    events: tuple[Event, ...] = ()


@dataclass(frozen=True)
class ServiceRequest:
    id: str
    tenant: str
    opened: float
    delivered: float | None = None
    title: str | None = None


# -- the corrections ledger -----------------------------------------------------------------


@dataclass(frozen=True)
class LedgerEntry:
    """One entry of the append-only corrections ledger: a correction (``kind``
    "correction": ``tenant``, ``start``/``end`` ms, ``state`` up | down | excluded,
    ``category``) or the revocation of one (``kind`` "revocation", ``revokes`` its id;
    ``tenant`` is the revoked correction's). ``recorded`` is ms since the epoch."""

    id: int
    kind: str
    tenant: str
    reason: str
    by: str
    recorded: int
    start: int | None = None
    end: int | None = None
    state: str | None = None
    category: str | None = None
    revokes: int | None = None
