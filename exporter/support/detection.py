"""Incidents detected from probes, to compare with what was filed with the vendor.

A production tenant with every probe down is a detected P1 (the terms: "productive service
is completely down"); with some probes down, a detected P2 ("partially down"). A detected P2
that becomes complete is raised to P1 (never lowered); the incident is resolved when no
probe is down any more. Pure: the daemon feeds it probe states and applies the actions.
"""

from __future__ import annotations

from dataclasses import dataclass

from exporter.model import Tenant


@dataclass(frozen=True)
class Action:
    kind: str  # open | raise | close
    tenant: str
    priority: str | None = None  # for open and raise
    incident: str | None = None  # for raise and close


def wanted(probe_states: dict[str, str]) -> str | None:
    """The priority a tenant's probe states call for, None when nothing is down."""
    down = sum(1 for s in probe_states.values() if s == "down")
    if not down:
        return None
    return "P1" if down == len(probe_states) else "P2"


def detect(
    tenants: list[Tenant], states: dict[str, dict[str, str]], open_detected: dict[str, tuple[str, str]]
) -> list[Action]:
    """``states``: tenant -> probe -> up|down|unknown; ``open_detected``: tenant ->
    (incident id, priority) of its open detected incident."""
    actions = []
    for tenant in tenants:
        if not tenant.production:
            continue  # P1/P2 are for production tenants only
        want = wanted(states.get(tenant.name, {}))
        current = open_detected.get(tenant.name)
        if want and current is None:
            actions.append(Action("open", tenant.name, priority=want))
        elif want == "P1" and current is not None and current[1] == "P2":
            actions.append(Action("raise", tenant.name, priority="P1", incident=current[0]))
        elif want is None and current is not None:
            actions.append(Action("close", tenant.name, incident=current[0]))
    return actions
