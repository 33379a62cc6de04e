"""The config's sections: top level, SLA, maintenance windows, tenants, probes, support and
monitor, each validated into the frozen dataclasses of ``exporter.model``."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import os
import re
import stat
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol, TypeVar

from exporter import model
from exporter.config.schema import (
    Section,
    _as_section,
    _bool,
    _check_unique,
    _choice,
    _date,
    _describe,
    _expected,
    _interval,
    _is_int,
    _name,
    _positive_duration,
    _positive_int,
    _regex,
    _rrule,
    _string,
    _time,
    _timezone,
    _unknown_key,
    _url,
    _window_duration,
)
from exporter.config.source import YList, YMap
from exporter.engine.units import parse_duration, parse_target

# ----------------------------------------------------------------------------------- the schema

_TOP_KEYS = ("timezone", "sla", "probe_defaults", "maintenance_windows", "locations", "tenants", "support", "monitor")
_LOCATIONS_KEYS = ("quorum",)
_MONITOR_KEYS = ("canaries", "canary_timeout")
_SLA_KEYS = ("target", "credits", "corrections")
_CREDIT_KEYS = ("below", "credit")
_CORRECTIONS_KEYS = ("max_age",)
_TENANT_KEYS = ("name", "environment", "down_when", "sla", "maintenance_windows", "locations", "probes")
_WINDOW_KEYS = ("name", "start", "duration", "rrule", "date", "timezone")
_HTTP_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 field-name
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _config(root: Section, source: str) -> model.Config:
    root.check_keys(_TOP_KEYS)
    timezone = root.get("timezone", _timezone, model.DEFAULT_TIMEZONE) or model.DEFAULT_TIMEZONE
    target = _sla_target(root, model.DEFAULT_TARGET)
    credits = _sla_credits(root, ())
    max_age = _sla_max_age(root, model.DEFAULT_CORRECTIONS_MAX_AGE_MS)
    quorum = _quorum(root, 1)
    defaults = _probe_defaults(root)
    windows = _windows(root, timezone)
    tenants = _tenants(root, _Top(timezone, target, windows, defaults, credits, max_age, quorum))
    support = _support(root, timezone)
    monitor = _monitor(root)
    return model.Config(
        tenants=tenants,
        timezone=timezone,
        target=target,
        windows=windows,
        credits=credits,
        corrections_max_age_ms=max_age,
        support=support,
        monitor=monitor,
        source=source,
    )


def _monitor(root: Section) -> model.Monitor:
    sec = root.section("monitor")
    if sec is None:
        return model.Monitor()
    sec.check_keys(_MONITOR_KEYS)
    canaries = []
    for item, path, line in sec.items("canaries") or []:
        try:
            canaries.append(_url(item))
        except ValueError as err:
            sec.ctx.error(path, line, str(err))
    timeout = sec.get("canary_timeout", _positive_duration, model.Monitor.canary_timeout)
    return model.Monitor(canaries=tuple(canaries), canary_timeout=timeout or model.Monitor.canary_timeout)


class _Top(NamedTuple):
    """What tenants inherit from the top level."""

    timezone: str
    target: float
    windows: tuple[model.Window, ...]
    probe_defaults: dict[str, _Setting]
    credits: tuple[model.CreditTier, ...] = ()
    corrections_max_age_ms: int = model.DEFAULT_CORRECTIONS_MAX_AGE_MS
    quorum: int = 1


def _quorum(sec: Section, default: int) -> int:
    """``locations.quorum``: how many locations must see a probe down (and have a known
    state) for it to count; ``default`` (the top level's, else 1) when absent or invalid."""
    locations = sec.section("locations")
    if locations is None:
        return default
    locations.check_keys(_LOCATIONS_KEYS)
    quorum = locations.get("quorum", _positive_int, None)
    return default if quorum is None else quorum


def _sla_target(sec: Section, default: float) -> float:
    """The target under ``sla``; ``default`` when there is none, or when it is invalid (a
    problem reported already: no config comes of it)."""
    sla = sec.section("sla")
    if sla is None:
        return default
    sla.check_keys(_SLA_KEYS)
    target: float | None = sla.get("target", parse_target, default)
    return default if target is None else target


def _sla_credits(sec: Section, default: tuple[model.CreditTier, ...]) -> tuple[model.CreditTier, ...]:
    """The service credit tiers under ``sla.credits``; ``default`` (the top level's) when
    there are none. A lower ``below`` may not give a smaller credit."""
    sla = sec.section("sla")
    if sla is None or "credits" not in sla.data:
        return default
    tiers: list[tuple[model.CreditTier, Section]] = []
    for value, path, line in sla.items("credits") or []:
        item = _as_section(sla.ctx, value, path, line)
        if item is None:
            continue
        item.check_keys(_CREDIT_KEYS)
        below = item.required("below", parse_target)
        credit = item.required("credit", _credit)
        if below is not None and credit is not None:
            tiers.append((model.CreditTier(below, credit), item))
    seen: dict[float, int] = {}
    for tier, item in tiers:
        if tier.below in seen:
            item.error("below", f"duplicate tier below {item.raw('below')} (first at line {seen[tier.below]})")
        seen.setdefault(tier.below, item.line_of("below"))
    ordered = sorted(tiers, key=lambda t: t[0].below, reverse=True)
    for (higher, above), (lower, item) in itertools.pairwise(ordered):
        if lower.credit < higher.credit:
            item.error(
                "credit",
                f"a lower tier must not give a smaller credit: {item.raw('credit')} below {item.raw('below')} "
                f"is less than {above.raw('credit')} below {above.raw('below')}",
            )
    return tuple(t for t, _ in tiers)


def _credit(value: Any) -> float:
    """A credit as a share of the fee: ``10%`` or ``0.1``, above 0 and at most 100 %."""
    if isinstance(value, str) and value.strip() == "100%":
        return 1.0
    if value == 1 and not isinstance(value, bool):
        return 1.0
    try:
        return parse_target(value)
    except ValueError:
        raise ValueError(_expected("a credit such as 10% or 0.1 (above 0%, at most 100%)", value)) from None


def _sla_max_age(sec: Section, default: int) -> int:
    """``sla.corrections.max_age`` in ms; ``default`` when absent or invalid."""
    sla = sec.section("sla")
    corrections = sla.section("corrections") if sla is not None else None
    if corrections is None:
        return default
    corrections.check_keys(_CORRECTIONS_KEYS)
    seconds = corrections.get("max_age", _positive_duration, None)
    return default if seconds is None else round(seconds * 1000)


def _windows(sec: Section, timezone: str) -> tuple[model.Window, ...]:
    windows: list[model.Window] = []
    seen: dict[str, int] = {}
    for value, path, line in sec.items("maintenance_windows") or []:
        window_sec = _as_section(sec.ctx, value, path, line)
        if window_sec is not None:
            window = _window(window_sec, timezone)
            _check_unique(seen, window.name, window_sec, "maintenance window")
            windows.append(window)
    return tuple(windows)


def _window(sec: Section, timezone: str) -> model.Window:
    sec.check_keys(_WINDOW_KEYS)
    has_rrule, has_date = "rrule" in sec.data, "date" in sec.data
    if has_rrule and has_date:
        sec.ctx.error(sec.path, sec.data.line, "both 'rrule' and 'date' given; expected exactly one")
    elif not (has_rrule or has_date):
        sec.ctx.error(sec.path, sec.data.line, "missing required key 'rrule' or 'date'")
    return model.Window(
        name=sec.required("name", _name),
        start=sec.required("start", _time),
        duration=sec.required("duration", _window_duration),
        timezone=sec.get("timezone", _timezone, timezone),
        rrule=sec.get("rrule", _rrule),
        date=sec.get("date", _date),
    )


class _Named(Protocol):
    @property
    def name(self) -> str: ...


_N = TypeVar("_N", bound=_Named)


def _named_items(parent: Section, key: str, what: str, empty: str, build: Callable[[Section], _N]) -> tuple[_N, ...]:
    """The required, non-empty list under ``key`` of mappings with unique ``name``s."""
    if not parent.require(key):
        return ()
    items = parent.items(key)
    if items == []:
        parent.error(key, empty)
    built: list[_N] = []
    seen: dict[str, int] = {}
    for value, path, line in items or []:
        sec = _as_section(parent.ctx, value, path, line)
        if sec is not None:
            item = build(sec)
            _check_unique(seen, item.name, sec, what)
            built.append(item)
    return tuple(built)


def _tenants(root: Section, top: _Top) -> tuple[model.Tenant, ...]:
    return _named_items(root, "tenants", "tenant", "expected at least one tenant", lambda sec: _tenant(sec, top))


def _tenant(sec: Section, top: _Top) -> model.Tenant:
    sec.check_keys(_TENANT_KEYS)
    return model.Tenant(
        name=sec.required("name", _name),
        environment=sec.get("environment", _choice("production", "non-production"), "production"),
        down_when=sec.get("down_when", _choice("any", "all"), "any"),
        target=_sla_target(sec, top.target),
        windows=top.windows + _windows(sec, top.timezone),
        probes=_probes(sec, top.probe_defaults),
        credits=_sla_credits(sec, top.credits),
        corrections_max_age_ms=_sla_max_age(sec, top.corrections_max_age_ms),
        quorum=_quorum(sec, top.quorum),
    )


def _probes(tenant: Section, defaults: dict[str, _Setting]) -> tuple[model.Probe, ...]:
    return _named_items(tenant, "probes", "probe", "tenant has no probes", lambda sec: _probe(sec, defaults))


# --------------------------------------------------------------------------------------- probes


class _Setting(NamedTuple):
    """A probe setting with where it came from, so cross-checks can point at the right line."""

    value: Any  # None when invalid (already reported)
    text: str  # as written, for messages: "40s"
    section: Section | None  # where it is written; None for built-in defaults
    key: str
    line: int | None
    local: bool  # written on the probe itself (not probe_defaults)

    @property
    def path(self) -> str | None:
        # Worked out only for a message: a fleet's probes have a hundred thousand settings.
        return None if self.section is None else self.section.path_of(self.key)


def _expect_status(sec: Section, key: str) -> tuple[int, ...] | None:
    raw = sec.raw(key)
    if _is_int(raw):
        items = [(raw, sec.path_of(key), sec.line_of(key))]
    elif isinstance(raw, YList):
        items = [(v, f"{sec.path_of(key)}[{i}]", raw.item_lines[i]) for i, v in enumerate(raw)]
    else:
        sec.error(key, _expected("an HTTP status code or a list of them", raw))
        return None
    ok = True
    for value, path, line in items:
        if not _is_int(value):
            sec.ctx.error(path, line, _expected("an integer", value))
            ok = False
        elif not 100 <= value <= 599:
            sec.ctx.error(path, line, f"expected an HTTP status code from 100 to 599, got {value}")
            ok = False
    return tuple(value for value, _, _ in items) if ok else None


def _headers(sec: Section, key: str) -> tuple[tuple[str, str | model.EnvRef], ...] | None:
    if sec.raw(key) is None:
        return ()
    headers_sec = sec.section(key)
    if headers_sec is None:
        return None
    headers: list[tuple[str, str | model.EnvRef]] = []
    seen: dict[str, int] = {}
    for name in headers_sec.data:
        key_line = headers_sec.data.key_lines[name]
        if not isinstance(name, str) or not _HTTP_TOKEN.fullmatch(name):
            sec.ctx.error(headers_sec.path_of(name), key_line, f"invalid header name {name!r}")
            continue
        if name.lower() in seen:  # HTTP header names are case-insensitive
            message = f"duplicate header {name!r} (first at line {seen[name.lower()]})"
            sec.ctx.error(headers_sec.path_of(name), key_line, message)
            continue
        seen[name.lower()] = key_line
        value = _header_value(headers_sec, name)
        if value is not None:
            headers.append((name, value))
    return tuple(headers)


def _header_value(headers: Section, name: str) -> str | model.EnvRef | None:
    raw = headers.raw(name)
    if isinstance(raw, str):
        if "\r" in raw or "\n" in raw:  # would let a value inject further headers
            headers.error(name, "header value must not contain line breaks")
            return None
        return raw
    if not isinstance(raw, YMap):
        headers.error(name, _expected("a string or {env: VAR_NAME}", raw))
        return None
    ref = Section(headers.ctx, raw, headers.path_of(name))
    ref.check_keys(("env",))
    var = ref.required("env", _string)
    if var is None:
        return None
    if not _ENV_NAME.fullmatch(var):
        ref.error("env", f"expected an environment variable name such as API_TOKEN, got {var!r}")
        return None
    return model.EnvRef(var)


def _ca_file(sec: Section, key: str) -> str | None:
    path = sec.get(key, _string)
    if path is None:
        return None
    full = path if os.path.isabs(path) or not sec.ctx.base_dir else os.path.join(sec.ctx.base_dir, path)
    reason = _unreadable(full) if sec.ctx.probing else None
    if reason:
        sec.error(key, f"cannot read ca_file {path!r}: {reason}")
        return None
    return full


def _unreadable(path: str) -> str | None:
    """Why ``path`` cannot be read as a file, or None. Checks the type first: opening a FIFO
    would block."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return "not a regular file"
        with open(path, "rb"):
            pass
    except (OSError, ValueError) as err:  # ValueError: embedded NUL
        return getattr(err, "strerror", None) or str(err)
    return None


def _simple(convert: Callable[[Any], Any]) -> Callable[[Section, str], Any]:
    return lambda sec, key: sec.get(key, convert)


_SETTING_PARSERS: dict[str, Callable[[Section, str], Any]] = {
    "interval": _simple(_interval),
    "timeout": _simple(_positive_duration),
    "failure_threshold": _simple(_positive_int),
    "stale_after": _simple(_positive_duration),
    "expect_status": _expect_status,
    "expect_body": _simple(_string),
    "expect_body_regex": _simple(_regex),
    "headers": _headers,
    "ca_file": _ca_file,
    "tls_verify": _simple(_bool),
}
_PROBE_KEYS = ("name", "url", *_SETTING_PARSERS)
_DEFAULT_INTERVAL = _Setting(30.0, "30s", None, "interval", None, False)
_DEFAULT_TIMEOUT = 10.0


def _probe_defaults(root: Section) -> dict[str, _Setting]:
    sec = root.section("probe_defaults")
    if sec is None:
        return {}
    sec.check_keys(tuple(_SETTING_PARSERS))
    return _probe_settings(sec, local=False)


def _probe_settings(sec: Section, local: bool) -> dict[str, _Setting]:
    settings = {}
    # The keys written (a probe has a few) rather than every setting there is. Unknown
    # keys were reported by check_keys; problems are sorted by line and path when shown.
    for key, raw in sec.data.items():
        parse = _SETTING_PARSERS.get(key)
        if parse is not None:
            text = raw if isinstance(raw, str) else str(raw)
            settings[key] = _Setting(parse(sec, key), text, sec, key, sec.line_of(key), local)
    return settings


def _probe(sec: Section, defaults: dict[str, _Setting]) -> model.Probe:
    sec.check_keys(_PROBE_KEYS)
    name = sec.required("name", _name)
    url = sec.required("url", _url)
    settings = {**defaults, **_probe_settings(sec, local=True)}
    # Names repeat across tenants (ui, api, ...): one string each. (Numbers cannot be
    # shared this way: the compacting copy of loader._compacted writes each one anew.)
    return model.Probe(name=sec.ctx.share(name), url=url, **_resolve(sec, settings))


def _resolve(sec: Section, settings: dict[str, _Setting]) -> dict[str, Any]:
    """Setting values for model.Probe, deriving timeout and stale_after from the interval."""
    values = {key: setting.value for key, setting in settings.items()}
    interval = settings.get("interval", _DEFAULT_INTERVAL)
    if interval.value is None:
        return values  # already reported; nothing sensible to compare against
    timeout, stale = settings.get("timeout"), settings.get("stale_after")
    if timeout is None:
        # Like Prometheus' scrape_timeout: a short interval alone should not make the
        # built-in 10s timeout an error.
        values["timeout"] = min(_DEFAULT_TIMEOUT, interval.value)
    elif timeout.value is not None and timeout.value > interval.value:
        _blame(sec, timeout, interval, f"timeout {timeout.text} exceeds interval {interval.text}")
    if stale is None:
        values["stale_after"] = 2 * interval.value
    elif stale.value is not None and stale.value < interval.value:
        _blame(sec, stale, interval, f"stale_after {stale.text} is shorter than interval {interval.text}")
    return values


def _blame(probe: Section, first: _Setting, second: _Setting, message: str) -> None:
    """Report a clash of two settings at the probe's own key if it wrote one, else where the
    default came from (probe_defaults), else at the probe."""
    for setting in (first, second):
        if setting.local and setting.path is not None:
            probe.ctx.error(setting.path, setting.line, message)
            return
    for setting in (first, second):
        if setting.path is not None:
            probe.ctx.error(setting.path, setting.line, message)
            return
    probe.ctx.error(probe.path, probe.data.line, message)


# -------------------------------------------------------------------------------------- support

_SUPPORT_KEYS = ("calendar", "priorities", "service_requests", "production_only", "api")
_CALENDAR_KEYS = ("timezone", "days", "hours", "holidays", "closed_dates")
_PRIORITY_KEYS = ("clock", "initial_response", "communication", "defect_communication", "resolution")
_API_KEYS = ("token_file", "token_env")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_RE = re.compile(r"(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})")
_BUSINESS_DAYS_RE = re.compile(r"(\d+(?:\.\d+)?)bd")


def _support(root: Section, timezone: str) -> model.Support:
    sec = root.section("support")
    if sec is None:
        return model.Support(calendar=model.BusinessHours())
    sec.check_keys(_SUPPORT_KEYS)
    calendar = _calendar(sec.section("calendar"))
    priorities = _priorities(sec.section("priorities"), calendar)
    delivery = 3 * calendar.business_day
    requests = sec.section("service_requests")
    if requests is not None:
        requests.check_keys(("delivery",))
        delivery = requests.get("delivery", _business_time(calendar), delivery) or delivery
    names = {p.name for p in priorities}
    only = sec.get("production_only", _priority_list(names), model.Support.production_only)
    if only is not None and not {"P1", "P2"} <= only:
        sec.error(
            "production_only", "must include P1 and P2: the terms allow P1 and P2 incidents only for production tenants"
        )
    api = sec.section("api")
    token_file = token_env = None
    if api is not None:
        api.check_keys(_API_KEYS)
        token_file = api.get("token_file", _string)
        token_env = api.get("token_env", _env_name)
        if token_file is not None and token_env is not None:
            api.ctx.error(api.path, api.data.line, "give token_file or token_env, not both")
    return model.Support(
        calendar=calendar,
        priorities=priorities,
        service_request_delivery=delivery,
        production_only=only if only is not None else model.Support.production_only,
        api_token_file=token_file,
        api_token_env=token_env,
    )


def _calendar(sec: Section | None) -> model.BusinessHours:
    default = model.BusinessHours()
    if sec is None:
        return default
    sec.check_keys(_CALENDAR_KEYS)
    hours = sec.get("hours", _hours, (default.open, default.close)) or (default.open, default.close)
    country, subdivision = sec.get("holidays", _holiday_source, (default.country, None)) or (default.country, None)
    return model.BusinessHours(
        timezone=sec.get("timezone", _timezone, default.timezone) or default.timezone,
        days=sec.get("days", _weekdays, default.days) or default.days,
        open=hours[0],
        close=hours[1],
        country=country,
        subdivision=subdivision,
        closed_dates=frozenset(sec.get("closed_dates", _dates, ()) or ()),
    )


def _hours(value: Any) -> tuple[dt.time, dt.time]:
    match = _HOURS_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(_expected('opening hours such as "08:00-16:30"', value))
    opens, closes = _time(match.group(1)), _time(match.group(2))
    if closes <= opens:
        raise ValueError(f"closing time must be after opening time, got {value!r}")
    return opens, closes


def _weekdays(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(_expected("a non-empty list of days such as [mon, tue, wed, thu, fri]", value))
    days = []
    for item in value:
        if not isinstance(item, str) or item.strip().lower()[:3] not in _DAYS:
            raise ValueError(f"expected days among {', '.join(_DAYS)}, got {_describe(item)}")
        days.append(_DAYS.index(item.strip().lower()[:3]))
    return tuple(sorted(set(days)))


def _holiday_source(value: Any) -> tuple[str | None, str | None]:
    """``FI``, ``{country: FI, subdivision: "01"}`` or ``none``."""
    import holidays  # only configs with a support calendar pay for the import

    if isinstance(value, str) and value.strip().lower() == "none":
        return None, None
    country, subdivision = value, None
    if isinstance(value, YMap):
        unknown = [k for k in value if k not in ("country", "subdivision")]
        if unknown:
            raise ValueError(_unknown_key(unknown[0], ("country", "subdivision")))
        country, subdivision = value.get("country"), value.get("subdivision")
    if not isinstance(country, str):
        raise ValueError(_expected("a country code such as FI, {country: FI, subdivision: ...} or none", value))
    try:
        found = holidays.country_holidays(country.strip(), subdiv=subdivision)
    except NotImplementedError:
        raise ValueError(f"no public holidays known for country {country!r}") from None
    except Exception as err:  # noqa: BLE001 - the package's own message names the subdivision problem
        raise ValueError(f"holidays: {err}") from None
    return found.country, subdivision


def _dates(value: Any) -> tuple[dt.date, ...]:
    if not isinstance(value, list):
        raise ValueError(_expected("a list of dates YYYY-MM-DD", value))
    return tuple(_date(item) for item in value)


def _business_time(calendar: model.BusinessHours) -> Callable[[Any], float]:
    """``3bd`` (business days of the calendar) or a duration such as ``4h``."""

    def convert(value: Any) -> float:
        match = _BUSINESS_DAYS_RE.fullmatch(value.strip()) if isinstance(value, str) else None
        seconds = float(match.group(1)) * calendar.business_day if match else _duration_or_bd(value)
        if seconds <= 0:
            raise ValueError(f"must be positive, got {value!r}")
        return seconds

    return convert


def _duration_or_bd(value: Any) -> float:
    try:
        return parse_duration(value)
    except ValueError:
        raise ValueError(_expected("a duration such as 4h or business days such as 3bd", value)) from None


def _scaled(p: model.Priority, factor: float) -> model.Priority:
    """A default business-clock priority in this calendar's business days."""
    if p.clock != "business" or factor == 1:
        return p

    def scale(v: float | None) -> float | None:
        return None if v is None else v * factor

    return model.Priority(
        p.name,
        p.clock,
        scale(p.initial_response),
        scale(p.communication),
        scale(p.resolution),
        scale(p.defect_communication),
    )


def _priority_target(
    item: Section, clock: str, calendar: model.BusinessHours, key: str, default: float | None
) -> float | None:
    """One target of a priority: business time, or None for an explicit "no target"."""
    if key in item.data and item.data[key] is None:
        return None  # explicitly "no target"
    if clock == "24/7" and isinstance(item.data.get(key), str) and item.data[key].strip().endswith("bd"):
        item.error(key, "business days (bd) need clock: business")
        return default
    value: float | None = item.get(key, _business_time(calendar), default)
    return value


def _priorities(sec: Section | None, calendar: model.BusinessHours) -> tuple[model.Priority, ...]:
    # The terms count P3/P4 in business days: with other opening hours a day is longer or shorter.
    factor = calendar.business_day / model.BUSINESS_DAY
    defaults = {p.name: _scaled(p, factor) for p in model.DEFAULT_PRIORITIES}
    if sec is None:
        return tuple(defaults.values())
    result = dict(defaults)
    for name in sec.data:
        if not isinstance(name, str) or not re.fullmatch(r"P[1-9]", name):
            sec.ctx.error(sec.path_of(name), sec.data.key_lines[name], f"expected a priority name P1-P9, got {name!r}")
            continue
        item = sec.section(name)
        if item is None:
            continue
        item.check_keys(_PRIORITY_KEYS)
        base = defaults.get(name) or model.Priority(name, "business", None, None)
        clock = item.get("clock", _choice("24/7", "business"), base.clock) or base.clock
        target = functools.partial(_priority_target, item, clock, calendar)
        result[name] = model.Priority(
            name=name,
            clock=clock,
            initial_response=target("initial_response", base.initial_response),
            communication=target("communication", base.communication),
            resolution=target("resolution", base.resolution),
            defect_communication=target("defect_communication", base.defect_communication),
        )
    return tuple(result[k] for k in sorted(result))


def _priority_list(names: set[str]) -> Callable[[Any], frozenset[str]]:
    def convert(value: Any) -> frozenset[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(_expected("a list of priority names such as [P1, P2]", value))
        unknown = [v for v in value if v not in names]
        if unknown:
            raise ValueError(f"unknown priority {unknown[0]!r}")
        return frozenset(value)

    return convert


def _env_name(value: Any) -> str:
    if not isinstance(value, str) or not _ENV_NAME.fullmatch(value):
        raise ValueError(_expected("an environment variable name", value))
    return value
