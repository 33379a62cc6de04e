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
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}


def parse_duration(text: object) -> float:
    """``"1h30m"`` -> 5400.0. Raises ValueError with what was expected."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"expected a duration such as 30s, 2h or 1h30m, got {text!r}")
    match = _DURATION_RE.match(text.strip())
    if not match or not any(match.groupdict().values()):
        raise ValueError(f"expected a duration such as 30s, 2h or 1h30m, got {text!r}")
    return float(sum(float(v) * _UNIT_SECONDS[k] for k, v in match.groupdict().items() if v))


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
        if percent:
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
