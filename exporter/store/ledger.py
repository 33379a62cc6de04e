"""Recording corrections: the checks every way in (command line, API) shares, then the
append to the ledger. The rules are in docs/semantics.md, "Corrections"."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from exporter.engine.corrections import CATEGORIES, STATES, refusal
from exporter.errors import UserError
from exporter.model import Config, LedgerEntry
from exporter.store.sqlite import Store

MAX_TEXT = 2000  # reason and author, as the support API's texts


class Refused(UserError):
    """A correction or revocation the rules refuse; the message says why (one line)."""


def _text(name: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise Refused(f"{name}: must not be empty")
    if len(value) > MAX_TEXT or "\n" in value or "\r" in value:
        raise Refused(f"{name}: expected one line of at most {MAX_TEXT} characters")
    return value


def correct(
    store: Store,
    cfg: Config,
    tenant: str,
    start: int,
    end: int,
    state: str,
    category: str,
    reason: str,
    by: str,
    now: int,
) -> int:
    """Append a correction of ``tenant`` over ``[start, end)`` ms; its id."""
    t = cfg.tenant(tenant)
    if t is None:
        raise Refused(f"tenant: unknown tenant {tenant!r} (the config has: {', '.join(x.name for x in cfg.tenants)})")
    if state not in STATES:
        raise Refused(f"as: expected one of {', '.join(STATES)}, got {state!r}")
    if category not in CATEGORIES:
        raise Refused(f"category: expected one of {', '.join(CATEGORIES)}, got {category!r}")
    why = refusal(start, end, now, t.corrections_max_age_ms)
    if why:
        raise Refused(why)
    entry = LedgerEntry(
        0, "correction", t.name, _text("reason", reason), _text("by", by), now, start, end, state, category
    )
    return store.add_correction(entry)


def revoke(store: Store, cfg: Config, target: int, reason: str, by: str, now: int) -> int:
    """Append the revocation of correction ``target``; its id. Refused like a new
    correction when the revoked one reaches back further than the max age: revoking it
    would change figures that are final by then."""
    reason, by = _text("reason", reason), _text("by", by)
    old = store.ledger_entry(target)
    if old is None or old.kind != "correction":
        raise Refused(f"revoke: no correction {target}")
    t = cfg.tenant(old.tenant)
    max_age = t.corrections_max_age_ms if t is not None else cfg.corrections_max_age_ms
    if old.start is not None and old.start < now - max_age:
        raise Refused(f"revoke: correction {target} reaches back further than sla.corrections.max_age")
    return store.revoke_correction(target, reason, by, now)


def entry_doc(e: LedgerEntry, tz: ZoneInfo) -> dict:
    """A ledger entry as JSON (command line, API, report): times RFC 3339 in ``tz``."""

    def at(ms: int | None) -> str | None:
        if ms is None:
            return None
        # replace(), not + timedelta: wall-clock arithmetic would lose the fold.
        return dt.datetime.fromtimestamp(ms // 1000, tz).replace(microsecond=ms % 1000 * 1000).isoformat()

    doc = {
        "id": e.id,
        "kind": e.kind,
        "tenant": e.tenant,
        "from": at(e.start),
        "to": at(e.end),
        "as": e.state,
        "category": e.category,
        "reason": e.reason,
        "by": e.by,
        "recorded_at": at(e.recorded),
    }
    if e.kind == "revocation":
        doc["revokes"] = e.revokes
    return doc
