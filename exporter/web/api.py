"""The support API: incidents and service requests, ``/api/v1/...``.

Independent of the HTTP server: ``Api.handle`` takes a method, path, headers and body and
returns a status and a JSON document. Writes need ``Authorization: Bearer <token>``; the
token comes from the file or environment variable named in ``support.api`` and is compared
in constant time. With no token configured, writes are off (403) and reads are open; with
one, reads need it too; if the configured token cannot be read, the API is off (503) and
monitoring goes on. (With basic auth in the web config, the HTTP server asks for the basic
credentials first; the token stands in for them on the API only when one is configured.)
Every refusal says why.

Bodies are strict JSON objects: at most ``MAX_BODY`` bytes, ``MAX_DEPTH`` levels deep,
integers of at most ``MAX_DIGITS`` digits, no NaN or Infinity, no lone surrogates in any
string. Times are RFC 3339 with an offset, from ``MIN_TIME`` (2000-01-01) to
``FUTURE_SLACK`` seconds after now.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import time
import urllib.parse
from collections.abc import Callable
from zoneinfo import ZoneInfo

from exporter.engine.months import month_bounds_ms
from exporter.engine.units import instant_ms
from exporter.model import Config, Event, Incident, ServiceRequest
from exporter.store import ledger
from exporter.store.sqlite import LedgerError, Store, to_ms
from exporter.support import deadlines as support

MAX_BODY = 64 * 1024
_COLLECTIONS = ("incidents", "service-requests", "corrections")
_CORRECTION_FIELDS = {"tenant", "from", "to", "as", "category", "reason"}
_REVOCATION_FIELDS = {"revoke", "reason"}
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_INCIDENT_FIELDS = {"id", "tenant", "priority", "defect", "title", "opened"}
_EVENT_FIELDS = {"kind", "time", "priority", "note"}
_REQUEST_FIELDS = {"id", "tenant", "title", "opened"}
_REQUEST_EVENT_FIELDS = {"kind", "time", "note"}
MAX_TEXT = 2000
MAX_DEPTH = 16  # our documents are two levels deep; anything deeper is not for us
MAX_DIGITS = 20
MIN_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC).timestamp()
FUTURE_SLACK = 300  # seconds: clocks of the caller and of the exporter may differ a little
_SURROGATE = re.compile("[\ud800-\udfff]")


class ApiError(Exception):
    def __init__(self, status: int, reason: str):
        self.status, self.reason = status, reason
        super().__init__(reason)


def load_token(cfg: Config, environ: dict) -> str | None:
    """The configured bearer token; None when none is configured. An unreadable or empty
    token file is an error (a misconfigured secret must not silently open or close the API)."""
    s = cfg.support
    if s.api_token_file:
        try:
            with open(s.api_token_file, encoding="utf-8") as f:
                token = f.read().strip()
        except OSError as err:
            raise ValueError(f"support.api.token_file: cannot read {s.api_token_file!r}: {err.strerror}") from None
        if not token:
            raise ValueError(f"support.api.token_file: {s.api_token_file!r} is empty")
        return token
    if s.api_token_env:
        token = environ.get(s.api_token_env, "").strip()
        if not token:
            raise ValueError(f"support.api.token_env: environment variable {s.api_token_env} is not set or empty")
        return token
    return None


def resolve_token(cfg: Config, environ: dict) -> tuple[str | None, str | None]:
    """(token, problem): a configured token that cannot be read closes the whole API with
    that problem as the reason, and the exporter keeps monitoring."""
    try:
        return load_token(cfg, environ), None
    except ValueError as err:
        return None, str(err)


class Api:
    def __init__(
        self,
        store: Store,
        config: Callable[[], Config],
        token: Callable[[], tuple[str | None, str | None]],
        clock: Callable[[], float] = time.time,
    ):
        self.store, self.config, self.token, self.clock = store, config, token, clock

    # -- entry point -------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers, body: bytes) -> tuple[int, dict]:
        try:
            return self._route(method, path, headers, body)
        except ApiError as err:
            return err.status, {"error": err.reason}

    def _route(self, method: str, path: str, headers, body: bytes) -> tuple[int, dict]:
        parsed = urllib.parse.urlsplit(path)
        parts = [urllib.parse.unquote(p) for p in parsed.path.strip("/").split("/")]
        query = urllib.parse.parse_qs(parsed.query)
        if parts[:2] != ["api", "v1"] or len(parts) < 3 or parts[2] not in _COLLECTIONS:
            raise ApiError(404, "no such endpoint")
        self._authorize(method, headers)
        collection, rest = parts[2], parts[3:]
        if collection == "corrections":
            return self._corrections(method, rest, query, headers, body)
        incidents = collection == "incidents"
        if method == "GET" and not rest:
            open_only = query.get("open", ["false"])[0].lower() in ("1", "true", "yes")
            return 200, self._list(incidents, open_only)
        if method == "GET" and len(rest) == 1:
            return 200, self._one(incidents, rest[0])
        if method == "POST" and not rest:
            doc = _json(body)
            return 201, self._create_incident(doc) if incidents else self._create_request(doc)
        if method == "POST" and len(rest) == 2 and rest[1] == "events":
            doc = _json(body)
            return 201, self._incident_event(rest[0], doc) if incidents else self._request_event(rest[0], doc)
        if method not in ("GET", "POST"):
            raise ApiError(405, f"method {method} is not allowed here")
        raise ApiError(404, "no such endpoint")

    def has_token(self) -> bool:
        """A token is configured and readable."""
        token, problem = self.token()
        return token is not None and problem is None

    def token_matches(self, value: str) -> bool:
        """``value`` (of ``Authorization: Bearer <value>``) is the configured token; False
        when none is configured. Constant time."""
        token, problem = self.token()
        if token is None or problem is not None:
            return False
        return hmac.compare_digest(value.strip().encode("utf-8", "surrogateescape"), token.encode())

    def _authorize(self, method: str, headers) -> None:
        token, problem = self.token()
        if problem is not None:
            raise ApiError(503, f"the API is off: {problem}")
        if token is None:
            if method != "GET":
                raise ApiError(403, "the write API is off: set support.api.token_file or support.api.token_env")
            return
        given = headers.get("Authorization") or ""
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not value:
            raise ApiError(401, "missing bearer token (Authorization: Bearer <token>)")
        if not self.token_matches(value):
            raise ApiError(401, "invalid bearer token")

    # -- reading -----------------------------------------------------------------------------

    def _list(self, incidents: bool, open_only: bool) -> dict:
        now = self.clock()
        if incidents:
            return {"incidents": [self._incident_doc(i, now) for i in self.store.incidents(open_only=open_only)]}
        return {"service_requests": [self._request_doc(r, now) for r in self.store.requests(open_only=open_only)]}

    def _one(self, incidents: bool, item_id: str) -> dict:
        now = self.clock()
        if incidents:
            return self._incident_doc(self._incident(item_id), now)
        return self._request_doc(self._request(item_id), now)

    def _incident(self, incident_id: str) -> Incident:
        found = self.store.incidents(incident_id=incident_id)
        if not found:
            raise ApiError(404, f"no incident {incident_id!r}")
        return found[0]

    def _request(self, request_id: str) -> ServiceRequest:
        found = self.store.requests(request_id=request_id)
        if not found:
            raise ApiError(404, f"no service request {request_id!r}")
        return found[0]

    def _iso(self, t: float | None) -> str | None:
        tz = ZoneInfo(self.config().support.calendar.timezone)
        return None if t is None else dt.datetime.fromtimestamp(t, tz).isoformat()

    def _incident_doc(self, inc: Incident, now: float) -> dict:
        st = support.evaluate(self.config().support, inc, now)
        return {
            "id": inc.id,
            "tenant": inc.tenant,
            "priority": st.priority,
            "opened_priority": inc.priority,
            "defect": inc.defect,
            "source": inc.source,
            "title": inc.title,
            "opened": self._iso(inc.opened),
            "closed": self._iso(st.closed_at),
            "open": st.open,
            "responded": self._iso(st.responded_at),
            "deadlines": {
                "initial_response_due": self._iso(st.response_due),
                "next_communication_due": self._iso(st.communication_due),
                "resolution_due": self._iso(st.resolution_due),
            },
            "breaches": [{"target": b.target, "due": self._iso(b.due), "priority": b.priority} for b in st.breaches],
            "events": [
                {"kind": e.kind, "time": self._iso(e.time), "priority": e.priority, "note": e.note} for e in inc.events
            ],
        }

    def _request_doc(self, req: ServiceRequest, now: float) -> dict:
        s = self.config().support
        return {
            "id": req.id,
            "tenant": req.tenant,
            "title": req.title,
            "opened": self._iso(req.opened),
            "delivered": self._iso(req.delivered),
            "open": req.delivered is None,
            "delivery_due": self._iso(support.delivery_due(s, req.opened)),
            "breached": support.request_breached(s, req, now),
        }

    # -- corrections ---------------------------------------------------------------------------

    def _corrections(self, method: str, rest: list[str], query: dict, headers, body: bytes) -> tuple[int, dict]:
        if rest:
            raise ApiError(404, "no such endpoint")
        cfg = self.config()
        tz = ZoneInfo(cfg.timezone)
        if method == "GET":
            tenant = query.get("tenant", [None])[0]
            entries = self.store.ledger(tenant)
            month = query.get("month", [None])[0]
            if month is not None:
                match = re.fullmatch(r"(\d{4})-(\d{2})", month)
                if not match or not 1 <= int(match.group(2)) <= 12:
                    raise ApiError(400, f"month: expected YYYY-MM, got {month!r}")
                lo, hi = month_bounds_ms(int(match.group(1)), int(match.group(2)), cfg.timezone)
                spans = {e.id: (e.start, e.end) for e in entries if e.kind == "correction"}
                entries = [
                    e
                    for e in entries
                    if (span := spans.get(e.revokes if e.kind == "revocation" else e.id))
                    and span[0] < hi  # type: ignore[operator]
                    and span[1] > lo  # type: ignore[operator]
                ]
            return 200, {"corrections": [ledger.entry_doc(e, tz) for e in entries]}
        if method != "POST":
            raise ApiError(405, f"method {method} is not allowed here")
        doc = _json(body)
        by = _author(headers, self.token()[0])
        now = instant_ms(self.clock())
        try:
            if "revoke" in doc:
                _fields(doc, _REVOCATION_FIELDS, required=_REVOCATION_FIELDS)
                target = doc["revoke"]
                if not isinstance(target, int) or isinstance(target, bool) or target < 1:
                    raise ApiError(400, "revoke: expected the id of a correction")
                reason = _text(doc, "reason") or ""
                new_id = ledger.revoke(self.store, cfg, target, reason, by, now)
            else:
                _fields(doc, _CORRECTION_FIELDS, required=_CORRECTION_FIELDS)
                for key in ("tenant", "as", "category"):
                    if not isinstance(doc[key], str):
                        raise ApiError(400, f"{key}: expected a string")
                self._tenant(doc)
                start, end = _instant(doc, "from"), _instant(doc, "to")
                new_id = ledger.correct(
                    self.store,
                    cfg,
                    doc["tenant"],
                    start,
                    end,
                    doc["as"],
                    doc["category"],
                    _text(doc, "reason") or "",
                    by,
                    now,
                )
        except LedgerError as err:
            raise ApiError(409, str(err)) from None
        except ledger.Refused as err:
            raise ApiError(422, str(err)) from None
        entry = self.store.ledger_entry(new_id)
        assert entry is not None  # just written; the ledger is append-only
        return 201, ledger.entry_doc(entry, tz)

    # -- writing -----------------------------------------------------------------------------

    def _tenant(self, doc: dict):
        name = doc.get("tenant")
        if not isinstance(name, str):
            raise ApiError(400, "tenant: expected a tenant name")
        tenant = self.config().tenant(name)
        if tenant is None:
            raise ApiError(422, f"tenant: unknown tenant {name!r}")
        return tenant

    def _priority(self, doc: dict, tenant, expected: str) -> str:
        """``doc["priority"]``, upper-cased, allowed by the terms for ``tenant``."""
        priority = doc.get("priority")
        if not isinstance(priority, str):
            raise ApiError(400, f"priority: {expected}")
        try:
            support.check_priority(self.config().support, tenant, priority.upper())
        except support.NotAllowed as err:
            raise ApiError(422, f"priority: {err}") from None
        return priority.upper()

    def _create_incident(self, doc: dict) -> dict:
        _fields(doc, _INCIDENT_FIELDS, required={"tenant", "priority"})
        tenant = self._tenant(doc)
        priority = self._priority(doc, tenant, "expected a priority such as P1")
        defect = doc.get("defect", False)
        if not isinstance(defect, bool):
            raise ApiError(400, "defect: expected true or false")
        now = self.clock()
        inc = Incident(
            id=_id(doc) or "",
            tenant=tenant.name,
            priority=priority,
            opened=_time(doc, "opened", now),
            defect=defect,
            title=_text(doc, "title"),
        )
        if not inc.id:  # numbered inside the store's transaction: unique across exporters
            inc = self.store.add_numbered(inc, "INC")
        elif not self.store.add_incident(inc):
            raise ApiError(409, f"id: incident {inc.id!r} exists already")
        return self._incident_doc(inc, now)

    def _incident_event(self, incident_id: str, doc: dict) -> dict:
        inc = self._incident(incident_id)
        _fields(doc, _EVENT_FIELDS, required={"kind"})
        kind = doc["kind"]
        if kind not in support.EVENT_KINDS:
            raise ApiError(400, f"kind: expected one of {', '.join(support.EVENT_KINDS)}")
        now = self.clock()
        status = support.evaluate(self.config().support, inc, now)
        if not status.open:
            raise ApiError(409, f"incident {inc.id!r} is resolved; no more events")
        priority = None
        if kind == "priority":
            priority = self._priority(doc, self.config().tenant(inc.tenant), "expected the new priority, e.g. P2")
        elif "priority" in doc:
            raise ApiError(400, "priority: only for kind 'priority'")
        when = _time(doc, "time", now)
        if to_ms(when) < to_ms(inc.opened):  # as stored: in milliseconds
            raise ApiError(422, "time: before the incident was opened")
        # The store refuses it too, in the same transaction as the write: a resolution that
        # arrives between the check above and this write wins.
        if not self.store.add_event(inc.id, Event(kind, when, priority, _text(doc, "note"))):
            raise ApiError(409, f"incident {inc.id!r} is resolved; no more events")
        return self._incident_doc(self._incident(inc.id), now)

    def _create_request(self, doc: dict) -> dict:
        _fields(doc, _REQUEST_FIELDS, required={"tenant"})
        tenant = self._tenant(doc)
        now = self.clock()
        req = ServiceRequest(
            id=_id(doc) or "",
            tenant=tenant.name,
            opened=_time(doc, "opened", now),
            title=_text(doc, "title"),
        )
        if not req.id:
            req = self.store.add_numbered(req, "SR")
        elif not self.store.add_request(req):
            raise ApiError(409, f"id: service request {req.id!r} exists already")
        return self._request_doc(req, now)

    def _request_event(self, request_id: str, doc: dict) -> dict:
        req = self._request(request_id)
        _fields(doc, _REQUEST_EVENT_FIELDS, required={"kind"})
        if doc["kind"] != "delivered":
            raise ApiError(400, "kind: expected 'delivered'")
        if req.delivered is not None:
            raise ApiError(409, f"service request {req.id!r} is delivered already")
        now = self.clock()
        when = _time(doc, "time", now)
        if to_ms(when) < to_ms(req.opened):  # as stored: in milliseconds
            raise ApiError(422, "time: before the request was opened")
        if not self.store.deliver_request(req.id, when):  # delivered meanwhile by another call
            raise ApiError(409, f"service request {req.id!r} is delivered already")
        return self._request_doc(self._request(req.id), now)


def _instant(doc: dict, key: str) -> int:
    """``doc[key]``: RFC 3339 with an offset, as integer ms (truncated, as every instant)."""
    value = doc.get(key)
    try:
        stamp = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        stamp = None
    if stamp is None or stamp.tzinfo is None:
        raise ApiError(400, f"{key}: expected RFC 3339 with an offset, e.g. 2026-11-26T10:00:00+02:00")
    if stamp.timestamp() < MIN_TIME:
        raise ApiError(400, f"{key}: before 2000-01-01")
    return instant_ms(stamp.timestamp())


def _author(headers, token: str | None) -> str:
    """Who records a correction: the authenticated identity, never a name the body
    claims. The API's one credential is its bearer token, named by a short digest (which
    token, after a rotation, without revealing it)."""
    scheme = (headers.get("Authorization") or "").partition(" ")[0]
    if scheme.lower() == "bearer" and token is not None:
        return "api-token:" + hashlib.sha256(token.encode()).hexdigest()[:8]
    return "api"


def _json(body: bytes) -> dict:
    if len(body) > MAX_BODY:
        raise ApiError(413, f"body larger than {MAX_BODY} bytes")
    try:
        doc = json.loads(body.decode("utf-8") or "null", parse_int=_int, parse_constant=_constant)
    except RecursionError:
        raise ApiError(400, f"body: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
        raise ApiError(400, f"body is not valid JSON: {err}") from None
    _check_values(doc)
    if not isinstance(doc, dict):
        raise ApiError(400, "body: expected a JSON object")
    return doc


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:
        raise ApiError(400, f"body: a number of {digits} digits (at most {MAX_DIGITS})")
    return int(text)


def _constant(name: str):
    raise ApiError(400, f"body is not valid JSON: {name} is not a JSON value")


def _check_values(doc) -> None:
    """Depth and strings of a parsed document, without recursion."""
    stack = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise ApiError(400, f"body: nested deeper than {MAX_DEPTH} levels")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and _SURROGATE.search(key):
                    raise ApiError(400, "body: a key with a lone surrogate (\\ud800-\\udfff) is not text")
                stack.append((item, depth + 1))
        elif isinstance(value, str) and _SURROGATE.search(value):
            raise ApiError(400, "body: a string with a lone surrogate (\\ud800-\\udfff) is not text")


def _fields(doc: dict, allowed: set[str], required: set[str]) -> None:
    for key in sorted(doc):
        if key not in allowed:
            raise ApiError(400, f"{key}: unknown field (expected {', '.join(sorted(allowed))})")
    for key in sorted(required):
        if doc.get(key) is None:
            raise ApiError(400, f"{key}: required")


def _id(doc: dict) -> str | None:
    value = doc.get("id")
    if value is None:
        return None
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ApiError(400, "id: expected 1-64 letters, digits, '.', '_' or '-'")
    return value


def _text(doc: dict, key: str) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ApiError(400, f"{key}: expected text of at most {MAX_TEXT} characters")
    return value


def _time(doc: dict, key: str, default: float) -> float:
    value = doc.get(key)
    if value is None:
        return default
    try:
        stamp = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        stamp = None
    if stamp is None or stamp.tzinfo is None:
        raise ApiError(400, f"{key}: expected RFC 3339 with an offset, e.g. 2026-11-26T10:00:00+02:00")
    t = stamp.timestamp()
    if t < MIN_TIME:
        raise ApiError(400, f"{key}: before 2000-01-01")
    if t > default + FUTURE_SLACK:
        raise ApiError(400, f"{key}: in the future (more than {FUTURE_SLACK // 60} minutes after now)")
    return t
