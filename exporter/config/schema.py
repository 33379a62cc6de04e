"""The validation machinery: sections that know their key path and line, and the value
converters (durations, times, dates, URLs, patterns, ...) whose ValueError becomes a
problem at that path."""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
import urllib.parse
import zoneinfo
from collections.abc import Callable
from typing import Any, TypeGuard

from exporter.config.patterns import compile_pattern
from exporter.config.redact import redact_userinfo
from exporter.config.source import Context, YList, YMap, _join
from exporter.engine.maintenance import validate_rrule
from exporter.engine.units import parse_duration as _parse_duration

# ------------------------------------------------------------------------- validation machinery


class Section:
    """A YAML mapping at a key path, with getters that record problems instead of raising."""

    def __init__(self, ctx: Context, data: YMap, path: str):
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

    def section(self, key: str) -> Section | None:
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
        if not isinstance(value, YList):
            self.error(key, _expected("a list", value))
            return None
        path = self.path_of(key)
        return [(item, f"{path}[{i}]", value.item_lines[i]) for i, item in enumerate(value)]


def _as_section(ctx: Context, value: Any, path: str, line: int) -> Section | None:
    if isinstance(value, YMap):
        return Section(ctx, value, path)
    ctx.error(path, line, _expected("a mapping", value))
    return None


def _unknown_key(key: Any, allowed: tuple[str, ...]) -> str:
    message = f"unknown key {key!r}"
    if isinstance(key, str):
        close = difflib.get_close_matches(key, allowed, n=1)
        if close:
            message += f" (did you mean {close[0]!r}?)"
    return message


def _check_unique(seen: dict[str, int], name: Any, sec: Section, what: str) -> None:
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


_cached_duration = functools.lru_cache(maxsize=1024)(_parse_duration)


def parse_duration(value: Any) -> float:
    """``units.parse_duration``, once per distinct text: a fleet's probes repeat the same few
    intervals and timeouts tens of thousands of times. (Errors are not cached: they raise.)"""
    return _cached_duration(value) if isinstance(value, str) else _parse_duration(value)


# ---------------------------------------------------------------------------- value converters
# Each takes the raw YAML value and returns the model value or raises ValueError(message).


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)  # YAML true is not 1


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(_expected("a string", value))
    return value


def _name(value: Any) -> str:
    text = _string(value)
    if not text.strip():
        raise ValueError("must not be empty")
    return text


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
    seconds = parse_duration(value)
    if seconds < 1:
        raise ValueError(f"must be at least 1s, got {value!r}")
    return seconds


_MAX_WINDOW = 7 * 86400.0


def _window_duration(value: Any) -> float:
    seconds = _positive_duration(value)
    if seconds > _MAX_WINDOW:
        raise ValueError(
            f"must be at most 7d, got {value!r} (a maintenance window longer than a week is almost certainly a mistake)"
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
    text = _string(value)
    validate_rrule(text)  # its ValueError messages are written for users
    return text


_WHITESPACE = re.compile(r"\s")  # what str.isspace() calls whitespace (both use Unicode's)


# A URL as configs mostly write one: http(s)://, a host name or IPv4 address, a port up
# to 65535, then printable ASCII. urlsplit accepts every such URL and finds its host
# (tests/test_config.py checks it), so it is taken without the call: urlsplit was a third
# of validating 30,000 probes.
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::([0-9]{1,5}))?(?:[/?#][!-~]*)?")


def _url(value: Any) -> str:
    text = _string(value)
    plain = _PLAIN_URL.fullmatch(text)
    if plain and (plain[1] is None or int(plain[1]) <= 65535):
        return text
    return _checked_url(text)


def _checked_url(text: str) -> str:
    try:
        parts = urllib.parse.urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok or _WHITESPACE.search(text):
        # user:password@ in a URL is a secret: never repeat it.
        shown = redact_userinfo(text, "***@")
        raise ValueError(f"invalid URL {shown!r}: expected http:// or https:// with a host")
    return text


def _regex(value: Any) -> str:
    text = _string(value)
    compile_pattern(text)  # ValueError with RE2's reason
    return text
