"""Support deadlines (docs/semantics.md, "Support deadlines"). Pure: instants are UTC epoch
seconds passed in, nothing is read from the clock or the store.

An incident's clocks start when it is opened. A priority change restarts the targets not
met yet from the moment of the change (upgrading a P3 to P1 after two days gives the vendor
an hour from the upgrade, not a breach in the past). A communication also counts as the
initial response. Each whole communication interval that passes without contact is one
missed communication. A workaround or a resolution meets the resolution target; a
resolution closes the incident.
"""

from __future__ import annotations

from dataclasses import dataclass

from exporter.model import Event, Incident, Priority, ServiceRequest, Support, Tenant
from exporter.support import calendar as businesshours

EVENT_KINDS = ("response", "communication", "workaround", "resolution", "priority")
TARGETS = ("response", "communication", "resolution", "delivery")
SERVICE_REQUEST = "service-request"  # the priority label of service requests in metrics
MAX_MISSED = 10_000  # missed communications counted per incident at most


class NotAllowed(ValueError):
    """A priority the terms do not allow for this tenant."""


def check_priority(support: Support, tenant: Tenant | None, name: str) -> Priority:
    """The policy for priority ``name``; NotAllowed names the rule that refuses it."""
    priority = support.priority(name)
    if priority is None:
        known = ", ".join(p.name for p in support.priorities)
        raise NotAllowed(f"unknown priority {name!r} (expected one of {known})")
    if tenant is not None and name in support.production_only and not tenant.production:
        only = " and ".join(sorted(support.production_only))
        raise NotAllowed(
            f"{name} is for production tenants only: the terms allow {only} incidents only for "
            f"production tenants, and tenant {tenant.name!r} is {tenant.environment}"
        )
    return priority


def due(support: Support, priority: Priority, start: float, seconds: float) -> float:
    """``seconds`` on the priority's clock after ``start``."""
    if priority.clock == "business":
        return businesshours.add(support.calendar, start, seconds)
    return start + seconds


def communication_interval(priority: Priority, defect: bool) -> float | None:
    if defect and priority.defect_communication is not None:
        return priority.defect_communication
    return priority.communication


@dataclass(frozen=True)
class Deadlines:
    initial_response_due: float | None
    communication_interval: float | None  # seconds of the priority's clock
    resolution_due: float | None


def deadlines(support: Support, priority: Priority, defect: bool, opened: float) -> Deadlines:
    return Deadlines(
        initial_response_due=None
        if priority.initial_response is None
        else due(support, priority, opened, priority.initial_response),
        communication_interval=communication_interval(priority, defect),
        resolution_due=None if priority.resolution is None else due(support, priority, opened, priority.resolution),
    )


def delivery_due(support: Support, opened: float) -> float:
    return businesshours.add(support.calendar, opened, support.service_request_delivery)


# -- incidents -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Breach:
    target: str  # response | communication | resolution
    due: float
    priority: str


@dataclass(frozen=True)
class Status:
    priority: str  # current
    closed_at: float | None
    responded_at: float | None
    response_due: float | None  # while the initial response is outstanding
    communication_due: float | None  # next, once responded and while open
    resolution_due: float | None  # while the resolution target is outstanding
    breaches: tuple[Breach, ...]

    @property
    def open(self) -> bool:
        return self.closed_at is None


class _Clocks:
    """The running state of one incident's deadlines while its events are replayed."""

    def __init__(self, support: Support, incident: Incident):
        self.support, self.defect = support, incident.defect
        self.priority = support.priority(incident.priority) or support.priorities[0]
        self.responded_at: float | None = None
        self.closed_at: float | None = None
        self.response_due = self._due(incident.opened, self.priority.initial_response)
        self.resolution_due = self._due(incident.opened, self.priority.resolution)
        self.communication_due: float | None = None
        self.breaches: list[Breach] = []
        self.resolution_met = False
        self._response_missed = self._resolution_missed = False

    def _due(self, start: float, seconds: float | None) -> float | None:
        return None if seconds is None else due(self.support, self.priority, start, seconds)

    def _interval(self) -> float | None:
        return communication_interval(self.priority, self.defect)

    def passed(self, t: float) -> None:
        """Record the deadlines that passed before ``t`` (one exactly at ``t`` is met)."""
        name = self.priority.name
        if self.response_due is not None and self.response_due < t and not self._response_missed:
            self.breaches.append(Breach("response", self.response_due, name))
            self._response_missed = True
        if self.resolution_due is not None and self.resolution_due < t and not self._resolution_missed:
            self.breaches.append(Breach("resolution", self.resolution_due, name))
            self._resolution_missed = True
        interval, missed = self._interval(), 0
        while self.communication_due is not None and self.communication_due < t and missed < MAX_MISSED:
            self.breaches.append(Breach("communication", self.communication_due, name))
            self.communication_due = self._due(self.communication_due, interval)
            missed += 1

    def contact(self, t: float) -> None:
        if self.responded_at is None:
            self.responded_at, self.response_due = t, None
        self.communication_due = self._due(t, self._interval())

    def apply(self, e: Event) -> None:
        if e.kind in ("response", "communication"):
            self.contact(e.time)
        elif e.kind == "workaround":
            self.resolution_met, self.resolution_due = True, None
        elif e.kind == "resolution":
            self.closed_at = e.time
            self.response_due = self.communication_due = self.resolution_due = None
        elif e.kind == "priority" and e.priority:
            self.priority = self.support.priority(e.priority) or self.priority
            self._response_missed = self._resolution_missed = False
            if self.responded_at is None:
                self.response_due = self._due(e.time, self.priority.initial_response)
            else:
                self.communication_due = self._due(e.time, self._interval())
            if not self.resolution_met:
                self.resolution_due = self._due(e.time, self.priority.resolution)


def evaluate(support: Support, incident: Incident, now: float) -> Status:
    """Deadlines and breaches of ``incident`` as of ``now`` (events after now are ignored)."""
    clocks = _Clocks(support, incident)
    for e in sorted((e for e in incident.events if e.time <= now), key=lambda e: e.time):
        if clocks.closed_at is not None:
            break
        clocks.passed(e.time)
        clocks.apply(e)
    if clocks.closed_at is None:
        clocks.passed(now)
    return Status(
        priority=clocks.priority.name,
        closed_at=clocks.closed_at,
        responded_at=clocks.responded_at,
        response_due=clocks.response_due,
        communication_due=clocks.communication_due,
        resolution_due=clocks.resolution_due,
        breaches=tuple(clocks.breaches),
    )


# -- service requests ------------------------------------------------------------------------


def request_breached(support: Support, request: ServiceRequest, now: float) -> bool:
    """Delivered after its due time, or still open past it."""
    deadline = delivery_due(support, request.opened)
    return (request.delivered if request.delivered is not None and request.delivered <= now else now) > deadline
