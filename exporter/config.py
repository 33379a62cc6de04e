"""Load and validate the YAML config into the frozen dataclasses of ``exporter.model``.

Every user mistake becomes a ``Problem`` (key path + YAML line). They are all collected and raised
together as one ``ConfigError``, so a single ``sla-exporter check`` shows everything to fix.

Example (what ``str(ConfigError)`` looks like)::

    config.yaml:14: tenants[0].probes[0].intervall: unknown key 'intervall' (did you mean 'interval'?)
    config.yaml:21: tenants[1].name: duplicate tenant name 'acme' (first at line 9)
"""

from __future__ import annotations

import datetime as dt
import difflib
import inspect
import os
import re
import stat
import urllib.parse
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import yaml

from . import model
from .maintenance import validate_rrule
from .regex import compile_pattern
from .units import format_percent, parse_duration, parse_target

# ---------------------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the config. ``path`` like ``tenants[1].probes[0].interval`` ("" for
    the document root); ``line`` is 1-based, None when there is no line to point at."""

    path: str
    message: str
    line: int | None

    def format(self, source: str) -> str:
        where = source if self.line is None else f"{source}:{self.line}"
        what = f"{self.path}: {self.message}" if self.path else self.message
        return f"{where}: {what}"


class ConfigError(Exception):
    """All problems of one config file; ``str()`` gives one ``source:line: path: message`` line each."""

    def __init__(self, source: str, problems: list[Problem]):
        # Shared probe_defaults can fail identically once per probe: report each problem once.
        unique = list(dict.fromkeys(problems))
        self.source = source
        self.problems = sorted(unique, key=lambda p: (p.line is not None, p.line or 0, p.path))
        super().__init__("\n".join(problem.format(source) for problem in self.problems))


# ------------------------------------------------------------------------------------ public API


def load(path: str) -> model.Config:
    """Read and validate the config file at ``path``; raises ConfigError listing every problem."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError, ValueError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise ConfigError(path, [Problem("", f"cannot read file: {reason}", None)]) from None
    # Relative paths inside the config (ca_file) mean "next to the config", as in Prometheus.
    return _load(text, path, os.path.dirname(os.path.abspath(path)))


def load_text(text: str, source: str = "<config>") -> model.Config:
    """Validate config given as text; ``source`` names it in messages (relative paths: cwd)."""
    return _load(text, source, None)


def summary(cfg: model.Config) -> str:
    """One line for ``sla-exporter check``, e.g. ``config.yaml: OK: 2 tenants, 5 probes, ...``."""
    probes = sum(len(tenant.probes) for tenant in cfg.tenants)
    top = len(cfg.windows)
    own = sum(len(tenant.windows) - top for tenant in cfg.tenants)
    windows = _count(top + own, "maintenance window")
    if top + own:
        windows += f" ({top} top-level, {own} per-tenant)"
    return (
        f"{cfg.source}: OK: {_count(len(cfg.tenants), 'tenant')}, {_count(probes, 'probe')}, "
        f"{windows}, timezone {cfg.timezone}, target {format_percent(cfg.target)}"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _load(text: str, source: str, base_dir: str | None) -> model.Config:
    ctx = _Ctx(base_dir)
    data = _read_yaml(ctx, text)
    config = None
    if isinstance(data, _YMap):
        # Validate even after duplicate keys or odd tags, so that every problem shows at once.
        config = _config(_Section(ctx, data, ""), source)
    elif data is not None:
        ctx.error("", _line_of_value(data), f"expected a mapping at the top level, got {_describe(data)}")
    elif not ctx.problems:
        ctx.error("", None, "file is empty: expected a mapping with at least `tenants`")
    if ctx.problems or config is None:
        raise ConfigError(source, ctx.problems)
    return config


# ---------------------------------------------------------------------------------- YAML reading

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 base-60 numbers: unquoted ``start: 22:00`` stays the string
    "22:00" (plain PyYAML reads 79200) and ``1:30`` is not 90."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT_TAG, _FLOAT_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# PyYAML's own int/float patterns minus their ``(?::[0-5]?[0-9])+`` alternatives.
_Loader.add_implicit_resolver(
    _INT_TAG,
    re.compile(
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0[0-7_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    ),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    _FLOAT_TAG,
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
        |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


class _YMap(dict):
    """A YAML mapping that remembers the line of its start, of each key and of each value."""

    def __init__(self, line: int):
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}
        self.value_lines: dict[Any, int] = {}

    def put(self, key: Any, value: Any, key_line: int, value_line: int) -> None:
        self[key] = value
        self.key_lines[key] = key_line
        self.value_lines[key] = value_line


class _YList(list):
    """A YAML sequence that remembers the line of its start and of each item."""

    def __init__(self, line: int):
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _line_of_value(value: Any) -> int:
    return getattr(value, "line", 1)  # a scalar document: no better line to hand


def _read_yaml(ctx: _Ctx, text: str) -> Any:
    """Parse ``text`` into _YMap/_YList/scalars; syntax errors become one problem each."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
        return None if node is None else _Builder(loader, ctx).build(node, "")
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        # PyYAML reads "context, problem": "while parsing a flow sequence, expected ',' ..."
        parts = [part for part in (err.context, err.problem) if part]
        message = f"invalid YAML: {', '.join(parts) or 'syntax error'}"
        ctx.error("", mark.line + 1 if mark else None, message)
    except yaml.reader.ReaderError as err:  # a character YAML does not allow, e.g. NUL
        line = text.count("\n", 0, err.position) + 1 if isinstance(text, str) else None
        char = f"#x{err.character:04x}" if isinstance(err.character, int) else repr(err.character)
        ctx.error("", line, f"invalid YAML: unacceptable character {char}: {err.reason}")
    except yaml.YAMLError as err:
        ctx.error("", None, f"invalid YAML: {str(err).splitlines()[0]}")
    except RecursionError:
        ctx.error("", None, "invalid YAML: nested too deeply")
    return None


class _Builder:
    """Turns composed YAML nodes into values. Walking the nodes ourselves (rather than yaml.load)
    gives a line for every value and lets us report duplicate keys instead of silently keeping
    the last one."""

    def __init__(self, loader: yaml.SafeLoader, ctx: _Ctx):
        self.loader = loader
        self.ctx = ctx
        self.built: dict[int, Any] = {}  # id(node) -> value: each alias target is built once
        self.building: set[int] = set()  # guards against an alias to its own ancestor

    def build(self, node: yaml.Node, path: str) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        key = id(node)
        if key in self.built:
            return self.built[key]
        if key in self.building:
            self.ctx.error(path, _line(node), "recursive YAML alias")
            return None
        if node.tag not in (_MAP_TAG, _SEQ_TAG):
            self.ctx.error(path, _line(node), f"unsupported YAML tag {node.tag!r}")
        self.building.add(key)
        if isinstance(node, yaml.MappingNode):
            value = self._mapping(node, path)
        else:
            value = self._sequence(node, path)
        self.building.discard(key)
        self.built[key] = value
        return value

    def _scalar(self, node: yaml.ScalarNode, path: str) -> Any:
        if node.tag == _VALUE_TAG:  # a lone "=" (YAML 1.1 value key): plain text to us
            return node.value
        construct = self.loader.yaml_constructors.get(node.tag)
        if construct is None:
            self.ctx.error(path, _line(node), f"unsupported YAML tag {node.tag!r}")
            return node.value
        try:
            value = construct(self.loader, node)
        except Exception:  # noqa: BLE001 - e.g. 2026-02-30 looks like a date but is not one
            return node.value  # keep the text: the field's own check explains what is wrong
        if inspect.isgenerator(value):  # a collection tag such as !!map on a plain value
            self.ctx.error(path, _line(node), f"unsupported YAML tag {node.tag!r} on a plain value")
            return node.value
        return value

    def _mapping(self, node: yaml.MappingNode, path: str) -> _YMap:
        result = _YMap(_line(node))
        merged = _YMap(_line(node))
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                self._merge(merged, value_node, path)
                continue
            key = self.build(key_node, path)
            key_line = _line(key_node)
            try:
                hash(key)
            except TypeError:
                self.ctx.error(path, key_line, "mapping keys must be plain values, not a mapping or list")
                continue
            if key in result.key_lines:
                first = result.key_lines[key]
                self.ctx.error(_join(path, key), key_line, f"duplicate key {key!r} (first at line {first})")
                continue
            result.put(key, self.build(value_node, _join(path, key)), key_line, _line(value_node))
        for key, value in merged.items():  # keys written out win over merged ones (YAML merge)
            if key not in result:
                result.put(key, value, merged.key_lines[key], merged.value_lines[key])
        return result

    def _merge(self, merged: _YMap, node: yaml.Node, path: str) -> None:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            value = self.build(source, path) if isinstance(source, yaml.MappingNode) else None
            if not isinstance(value, _YMap):
                self.ctx.error(path, _line(source), "merge key '<<' expects a mapping or a list of mappings")
                continue
            for key in value:
                if key not in merged:  # with several merged mappings the first one wins
                    merged.put(key, value[key], value.key_lines[key], value.value_lines[key])

    def _sequence(self, node: yaml.SequenceNode, path: str) -> _YList:
        result = _YList(_line(node))
        for index, item in enumerate(node.value):
            result.append(self.build(item, f"{path}[{index}]"))
            result.item_lines.append(_line(item))
        return result


# ------------------------------------------------------------------------- validation machinery

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _join(path: str, key: Any) -> str:
    text = key if isinstance(key, str) and _PLAIN_KEY.fullmatch(key) else repr(key)
    return f"{path}.{text}" if path else text


class _Ctx:
    """Accumulates problems while the whole config is checked."""

    def __init__(self, base_dir: str | None):
        self.problems: list[Problem] = []
        self.base_dir = base_dir

    def error(self, path: str, line: int | None, message: str) -> None:
        # One problem per output line, whatever the user's value contained.
        self.problems.append(Problem(path, message.replace("\n", " "), line))


class _Section:
    """A YAML mapping at a key path, with getters that record problems instead of raising."""

    def __init__(self, ctx: _Ctx, data: _YMap, path: str):
        self.ctx = ctx
        self.data = data
        self.path = path

    def path_of(self, key: str) -> str:
        return _join(self.path, key)

    def line_of(self, key: str) -> int:
        return self.data.value_lines.get(key, self.data.line)

    def raw(self, key: str) -> Any:
        return self.data.get(key)

    def error(self, key: str, message: str) -> None:
        self.ctx.error(self.path_of(key), self.line_of(key), message)

    def check_keys(self, allowed: tuple[str, ...]) -> None:
        for key in self.data:
            if key not in allowed:
                self.ctx.error(self.path_of(key), self.data.key_lines[key], _unknown_key(key, allowed))

    def require(self, key: str) -> bool:
        if key in self.data:
            return True
        self.ctx.error(self.path, self.data.line, f"missing required key {key!r}")
        return False

    def get(self, key: str, convert: Callable[[Any], Any], default: Any = None) -> Any:
        """``convert(raw)``; its ValueError message becomes the problem. A missing key gives
        ``default``, an invalid value None (callers skip cross-checks on None)."""
        if key not in self.data:
            return default
        try:
            return convert(self.data[key])
        except ValueError as err:
            self.error(key, str(err))
            return None

    def required(self, key: str, convert: Callable[[Any], Any]) -> Any:
        return self.get(key, convert) if self.require(key) else None

    def section(self, key: str) -> _Section | None:
        """The optional mapping under ``key``; None when absent, null or not a mapping."""
        value = self.data.get(key)
        if value is None:
            return None
        return _as_section(self.ctx, value, self.path_of(key), self.line_of(key))

    def items(self, key: str) -> list[tuple[Any, str, int]] | None:
        """(item, path, line) of the list under ``key``; [] when absent or null, None when not a list."""
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, _YList):
            self.error(key, _expected("a list", value))
            return None
        path = self.path_of(key)
        return [(item, f"{path}[{i}]", value.item_lines[i]) for i, item in enumerate(value)]


def _as_section(ctx: _Ctx, value: Any, path: str, line: int) -> _Section | None:
    if isinstance(value, _YMap):
        return _Section(ctx, value, path)
    ctx.error(path, line, _expected("a mapping", value))
    return None


def _unknown_key(key: Any, allowed: tuple[str, ...]) -> str:
    message = f"unknown key {key!r}"
    if isinstance(key, str):
        close = difflib.get_close_matches(key, allowed, n=1)
        if close:
            message += f" (did you mean {close[0]!r}?)"
    return message


def _check_unique(seen: dict[str, int], name: Any, sec: _Section, what: str) -> None:
    """Record ``name`` (from sec's ``name`` key); a repeat is a problem naming the first line."""
    if not isinstance(name, str):
        return
    if name in seen:
        sec.error("name", f"duplicate {what} name {name!r} (first at line {seen[name]})")
    else:
        seen[name] = sec.line_of("name")


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dt.datetime):
        return f"a date and time ({value.isoformat()})"
    if isinstance(value, dt.date):
        return f"a date ({value.isoformat()})"
    return f"a {type(value).__name__} value"


def _expected(what: str, value: Any) -> str:
    return f"expected {what}, got {_describe(value)}"


# ---------------------------------------------------------------------------- value converters
# Each takes the raw YAML value and returns the model value or raises ValueError(message).


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # YAML true is not 1


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(_expected("a string", value))
    return value


def _name(value: Any) -> str:
    if not _string(value).strip():
        raise ValueError("must not be empty")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(_expected("true or false", value))
    return value


def _positive_int(value: Any) -> int:
    if not _is_int(value):
        raise ValueError(_expected("an integer", value))
    if value < 1:
        raise ValueError(f"must be at least 1, got {value}")
    return value


def _choice(*options: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if not isinstance(value, str) or value not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {_describe(value)}")
        return value

    return convert


def _positive_duration(value: Any) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"must be greater than 0, got {value!r}")
    return seconds


def _interval(value: Any) -> float:
    if parse_duration(value) < 1:
        raise ValueError(f"must be at least 1s, got {value!r}")
    return parse_duration(value)


_MAX_WINDOW = 7 * 86400.0


def _window_duration(value: Any) -> float:
    seconds = _positive_duration(value)
    if seconds > _MAX_WINDOW:
        raise ValueError(
            f"must be at most 7d, got {value!r} (a maintenance window longer than a week is "
            "almost certainly a mistake)"
        )
    return seconds


def _timezone(value: Any) -> str:
    name = _string(value)
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown timezone {name!r}") from None
    return name


_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def _time(value: Any) -> dt.time:
    match = _TIME_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(_expected('a time of day HH:MM such as "02:00"', value))
    hour, minute, second = (int(part or 0) for part in match.groups())
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"expected a time of day from 00:00 to 23:59, got {value!r}")
    return dt.time(hour, minute, second)


_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DATE_RE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError as err:  # 2026-02-30 and the like
            raise ValueError(f"invalid date {value!r}: {err}") from None
    raise ValueError(_expected("a date YYYY-MM-DD", value))


def _rrule(value: Any) -> str:
    validate_rrule(_string(value))  # its ValueError messages are written for users
    return value


def _url(value: Any) -> str:
    text = _string(value)
    try:
        parts = urllib.parse.urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok or any(char.isspace() for char in text):
        # user:password@ in a URL is a secret: never repeat it.
        shown = re.sub(r"//[^/@]*@", "//***@", text)
        raise ValueError(f"invalid URL {shown!r}: expected http:// or https:// with a host")
    return text


def _regex(value: Any) -> str:
    text = _string(value)
    compile_pattern(text)  # ValueError with RE2's reason
    return text


# ----------------------------------------------------------------------------------- the schema

_TOP_KEYS = ("timezone", "sla", "probe_defaults", "maintenance_windows", "tenants", "support", "monitor")
_MONITOR_KEYS = ("canaries", "canary_timeout")
_SLA_KEYS = ("target",)
_TENANT_KEYS = ("name", "environment", "down_when", "sla", "maintenance_windows", "probes")
_WINDOW_KEYS = ("name", "start", "duration", "rrule", "date", "timezone")
_HTTP_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 field-name
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _config(root: _Section, source: str) -> model.Config:
    root.check_keys(_TOP_KEYS)
    timezone = root.get("timezone", _timezone, model.DEFAULT_TIMEZONE) or model.DEFAULT_TIMEZONE
    target = _sla_target(root, model.DEFAULT_TARGET)
    defaults = _probe_defaults(root)
    windows = _windows(root, timezone)
    tenants = _tenants(root, _Top(timezone, target, windows, defaults))
    support = _support(root, timezone)
    monitor = _monitor(root)
    return model.Config(tenants=tenants, timezone=timezone, target=target, windows=windows, support=support,
                        monitor=monitor, source=source)


def _monitor(root: _Section) -> model.Monitor:
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


def secret_problems(cfg: model.Config, environ: Mapping[str, str]) -> list[str]:
    """Header variables that are not set in ``environ``. ``check`` reports them as errors;
    the daemon counts a probe that lacks its secret as a fault of ours (its time unknown),
    never as the vendor's downtime."""
    problems = []
    for i, tenant in enumerate(cfg.tenants):
        for j, probe in enumerate(tenant.probes):
            for name, value in probe.headers:
                if isinstance(value, model.EnvRef) and value.env not in environ:
                    problems.append(f"{cfg.source}: tenants[{i}].probes[{j}].headers.{name}: "
                                    f"environment variable {value.env} is not set (tenant {tenant.name}, "
                                    f"probe {probe.name})")
    return problems


class _Top(NamedTuple):
    """What tenants inherit from the top level."""

    timezone: str
    target: float | None
    windows: tuple[model.Window, ...]
    probe_defaults: dict[str, _Setting]


def _sla_target(sec: _Section, default: float | None) -> float | None:
    sla = sec.section("sla")
    if sla is None:
        return default
    sla.check_keys(_SLA_KEYS)
    return sla.get("target", parse_target, default)


def _windows(sec: _Section, timezone: str) -> tuple[model.Window, ...]:
    windows: list[model.Window] = []
    seen: dict[str, int] = {}
    for value, path, line in sec.items("maintenance_windows") or []:
        window_sec = _as_section(sec.ctx, value, path, line)
        if window_sec is not None:
            window = _window(window_sec, timezone)
            _check_unique(seen, window.name, window_sec, "maintenance window")
            windows.append(window)
    return tuple(windows)


def _window(sec: _Section, timezone: str) -> model.Window:
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


def _named_items(parent: _Section, key: str, what: str, empty: str, build: Callable[[_Section], Any]) -> tuple:
    """The required, non-empty list under ``key`` of mappings with unique ``name``s."""
    if not parent.require(key):
        return ()
    items = parent.items(key)
    if items == []:
        parent.error(key, empty)
    built: list = []
    seen: dict[str, int] = {}
    for value, path, line in items or []:
        sec = _as_section(parent.ctx, value, path, line)
        if sec is not None:
            item = build(sec)
            _check_unique(seen, item.name, sec, what)
            built.append(item)
    return tuple(built)


def _tenants(root: _Section, top: _Top) -> tuple[model.Tenant, ...]:
    return _named_items(root, "tenants", "tenant", "expected at least one tenant", lambda sec: _tenant(sec, top))


def _tenant(sec: _Section, top: _Top) -> model.Tenant:
    sec.check_keys(_TENANT_KEYS)
    return model.Tenant(
        name=sec.required("name", _name),
        environment=sec.get("environment", _choice("production", "non-production"), "production"),
        down_when=sec.get("down_when", _choice("any", "all"), "any"),
        target=_sla_target(sec, top.target),
        windows=top.windows + _windows(sec, top.timezone),
        probes=_probes(sec, top.probe_defaults),
    )


def _probes(tenant: _Section, defaults: dict[str, _Setting]) -> tuple[model.Probe, ...]:
    return _named_items(tenant, "probes", "probe", "tenant has no probes", lambda sec: _probe(sec, defaults))


# --------------------------------------------------------------------------------------- probes


class _Setting(NamedTuple):
    """A probe setting with where it came from, so cross-checks can point at the right line."""

    value: Any  # None when invalid (already reported)
    text: str  # as written, for messages: "40s"
    path: str | None  # None for built-in defaults
    line: int | None
    local: bool  # written on the probe itself (not probe_defaults)


def _expect_status(sec: _Section, key: str) -> tuple[int, ...] | None:
    raw = sec.raw(key)
    if _is_int(raw):
        items = [(raw, sec.path_of(key), sec.line_of(key))]
    elif isinstance(raw, _YList):
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


def _headers(sec: _Section, key: str) -> tuple[tuple[str, str | model.EnvRef], ...] | None:
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


def _header_value(headers: _Section, name: str) -> str | model.EnvRef | None:
    raw = headers.raw(name)
    if isinstance(raw, str):
        if "\r" in raw or "\n" in raw:  # would let a value inject further headers
            headers.error(name, "header value must not contain line breaks")
            return None
        return raw
    if not isinstance(raw, _YMap):
        headers.error(name, _expected("a string or {env: VAR_NAME}", raw))
        return None
    ref = _Section(headers.ctx, raw, headers.path_of(name))
    ref.check_keys(("env",))
    var = ref.required("env", _string)
    if var is None:
        return None
    if not _ENV_NAME.fullmatch(var):
        ref.error("env", f"expected an environment variable name such as API_TOKEN, got {var!r}")
        return None
    return model.EnvRef(var)


def _ca_file(sec: _Section, key: str) -> str | None:
    path = sec.get(key, _string)
    if path is None:
        return None
    full = path if os.path.isabs(path) or not sec.ctx.base_dir else os.path.join(sec.ctx.base_dir, path)
    reason = _unreadable(full)
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


def _simple(convert: Callable[[Any], Any]) -> Callable[[_Section, str], Any]:
    return lambda sec, key: sec.get(key, convert)


_SETTING_PARSERS: dict[str, Callable[[_Section, str], Any]] = {
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
_DEFAULT_INTERVAL = _Setting(30.0, "30s", None, None, False)
_DEFAULT_TIMEOUT = 10.0


def _probe_defaults(root: _Section) -> dict[str, _Setting]:
    sec = root.section("probe_defaults")
    if sec is None:
        return {}
    sec.check_keys(tuple(_SETTING_PARSERS))
    return _probe_settings(sec, local=False)


def _probe_settings(sec: _Section, local: bool) -> dict[str, _Setting]:
    settings = {}
    for key, parse in _SETTING_PARSERS.items():
        if key in sec.data:
            raw = sec.raw(key)
            text = raw if isinstance(raw, str) else str(raw)
            settings[key] = _Setting(parse(sec, key), text, sec.path_of(key), sec.line_of(key), local)
    return settings


def _probe(sec: _Section, defaults: dict[str, _Setting]) -> model.Probe:
    sec.check_keys(_PROBE_KEYS)
    name = sec.required("name", _name)
    url = sec.required("url", _url)
    settings = {**defaults, **_probe_settings(sec, local=True)}
    return model.Probe(name=name, url=url, **_resolve(sec, settings))


def _resolve(sec: _Section, settings: dict[str, _Setting]) -> dict[str, Any]:
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


def _blame(probe: _Section, first: _Setting, second: _Setting, message: str) -> None:
    """Report a clash of two settings at the probe's own key if it wrote one, else where the
    default came from (probe_defaults), else at the probe."""
    for setting in (first, second):
        if setting.local:
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


def _support(root: _Section, timezone: str) -> model.Support:
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
        sec.error("production_only", "must include P1 and P2: the terms allow P1 and P2 incidents only for "
                                     "production tenants")
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


def _calendar(sec: _Section | None) -> model.BusinessHours:
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
    if isinstance(value, _YMap):
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

    return model.Priority(p.name, p.clock, scale(p.initial_response), scale(p.communication),
                          scale(p.resolution), scale(p.defect_communication))


def _priorities(sec: _Section | None, calendar: model.BusinessHours) -> tuple[model.Priority, ...]:
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

        def target(key: str, default: float | None) -> float | None:
            if key in item.data and item.data[key] is None:
                return None  # explicitly "no target"
            if clock == "24/7" and isinstance(item.data.get(key), str) and item.data[key].strip().endswith("bd"):
                item.error(key, "business days (bd) need clock: business")
                return default
            return item.get(key, _business_time(calendar), default)

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
