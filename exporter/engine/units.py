"""Parsing and formatting of the small value types used in config and output:
durations (``30s``, ``1h30m``) and SLA targets (``99.92%``, ``0.9992``)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# Prometheus-style durations: units in descending order, each at most once.
_DURATION_RE = re.compile(
    r"^(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)s)?(?:(?P<ms>\d+)ms)?$"
)
_UNIT_MS = {"w": 604_800_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}
_EXPECTED_DURATION = "expected a duration such as 30s, 2h or 1h30m"


def parse_duration_ms(text: object) -> int:
    """``"1h30m"`` -> 5400000: exact integer milliseconds (the store's unit), so that
    ``1m1.096s``, ``61.096s`` and ``61s96ms`` are the same duration. Raises ValueError with
    what was expected; a fraction finer than a millisecond is refused, not rounded."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"{_EXPECTED_DURATION}, got {text!r}")
    match = _DURATION_RE.match(text.strip())
    if not match or not any(match.groupdict().values()):
        raise ValueError(f"{_EXPECTED_DURATION}, got {text!r}")
    total = 0
    for unit, value in match.groupdict().items():
        if value is None:
            continue
        whole, _, fraction = value.partition(".")  # only seconds may carry a fraction
        if len(fraction.rstrip("0")) > 3:
            raise ValueError(f"expected a duration in whole milliseconds at most, got {text!r}")
        total += int(whole) * _UNIT_MS[unit] + (int(fraction.ljust(3, "0")[:3]) if fraction else 0)
    return total


def parse_duration(text: object) -> float:
    """``"1h30m"`` -> 5400.0 seconds: ``parse_duration_ms`` / 1000, so equal durations
    give equal floats and ``round(seconds * 1000)`` gives the exact milliseconds back."""
    return parse_duration_ms(text) / 1000


def instant_ms(seconds: float) -> int:
    """An instant in epoch seconds (a clock reading, ``now``) as integer milliseconds: read
    as the decimal it prints as and truncated, so 1790802000.123 is ...123 ms whatever
    binary fraction the float holds (``int(x * 1000)`` can give ...122)."""
    return int(Decimal(repr(seconds)) * 1000 // 1)


def format_duration(seconds: float) -> str:
    """Seconds as a short h/m/s string for people: 5400 -> ``1h 30m``, 0 -> ``0s``."""
    sign = "-" if seconds < 0 else ""
    total = round(abs(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    parts = [f"{h}h"] if h else []
    if m:
        parts.append(f"{m}m")
    if s or not parts:
        parts.append(f"{s}s")
    return sign + " ".join(parts)


def parse_target(value: object) -> float:
    """``"99.92%"`` or ``0.9992`` -> 0.9992; must lie strictly between 0 and 1."""
    if isinstance(value, bool):
        raise ValueError(f"expected a target such as 99.92% or 0.9992, got {value!r}")
    percent = isinstance(value, str) and value.strip().endswith("%")
    try:
        if isinstance(value, str) and percent:
            ratio = Decimal(value.strip()[:-1].strip()) / 100
        elif isinstance(value, (int, float, str)):
            ratio = Decimal(str(value).strip())
        else:
            raise InvalidOperation
        if not ratio.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise ValueError(f"expected a target such as 99.92% or 0.9992, got {value!r}") from None
    # Checked on the float too: 1e-999 is above 0 as a Decimal but 0.0 as a float.
    if not 0 < ratio < 1 or not 0 < float(ratio) < 1:
        hint = " (write percentages with a % sign)" if 1 < ratio < 100 and not percent else ""
        raise ValueError(f"must lie strictly between 0% and 100%, got {value!r}{hint}")
    return float(ratio)


def format_percent(ratio: float | None, places: int = 3) -> str:
    return "n/a" if ratio is None else f"{ratio * 100:.{places}f}%"
