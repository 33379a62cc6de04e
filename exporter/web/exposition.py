"""The Prometheus text format (0.0.4), byte for byte what prometheus_client's
``generate_latest`` writes, but remembering each family's samples and lines between
scrapes: a line is written anew only when its value changed. Ten thousand tenants are some
200,000 samples whose names and labels repeat every scrape; formatting and escaping them
again was most of the scrape's time. Families this fast path does not cover go through
``generate_latest`` unchanged.

A family that comes as text lines (``collectors.base.LinesFamily``: its collector keeps
lines, not samples) is copied as it is (``bytes`` lines straight into the body, ``str``
ones encoded once per family). The body is joined once, as bytes: no str copy of it.
Collectors that reuse their sample objects (or at least their label dicts) between scrapes
are matched position by position, else by label dict: an unchanged family costs a few
passes in C. Only the last scrape's families are remembered, so memory follows the live
series, not every result or label dict ever seen; a series under a new label dict
(a reload, a collector that builds its dicts anew) is simply written whole again.
"""

from __future__ import annotations

import array
import itertools
import operator
import weakref
from typing import NamedTuple

from prometheus_client import generate_latest
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

# registry -> {family name -> (samples, lines)} of its last complete scrape
_LAST: weakref.WeakKeyDictionary[Collector, dict[str, tuple[list, _Written]]] = weakref.WeakKeyDictionary()
_FAST_TYPES = {"gauge": "gauge", "counter": "counter", "unknown": "untyped"}
_SLOW_SUFFIXES = ("_created", "_gsum", "_gcount")


class _Slow(Exception):
    """A sample the fast path does not write (a timestamp, a _created series)."""


def _escape_value(value: str) -> str:
    """A label value as the text format writes it: backslash, newline and double quote
    escaped (the three replaces of prometheus_client's writer; the golden file checks them)."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def label_part(labels: dict[str, str]) -> str:
    """What follows the name in a sample's line up to its value: the labels as the text
    format writes them (sorted, escaped) and the space (for collectors that keep lines:
    ``name + label_part + floatToGoString(value) + "\\n"``)."""
    if not labels:
        return " "
    inner = ",".join(f'{k}="{_escape_value(v)}"' for k, v in sorted(labels.items()))
    return f"{{{inner}}} "


def _prefix(name: str, labels: dict[str, str]) -> str:
    return name + label_part(labels)


def line(name: str, labels: dict[str, str], value: float) -> str:
    """The text line of a sample, as the reference writer writes it (for collectors that
    keep lines rather than samples: ``LinesFamily``)."""
    return f"{_prefix(name, labels)}{floatToGoString(value)}\n"


def _revalued(line: str, value: float) -> str:
    """``line`` with ``value``: the prefix ends at the last space (a value has none)."""
    return f"{line[: line.rindex(' ') + 1]}{floatToGoString(value)}\n"


def _line(s: tuple) -> str:
    """The line of a sample not matched to the last scrape's: written whole."""
    name, labels, value = s[0], s[1], s[2]
    if s[3] is not None or name.endswith(_SLOW_SUFFIXES):
        raise _Slow
    return f"{_prefix(name, labels)}{floatToGoString(value)}\n"


def _again(s: tuple, b: tuple | None, line: str | None) -> str:
    """The line of sample ``s``, given ``b`` (and its line): the last scrape's sample that
    may be the same series."""
    if b is s:
        return line  # type: ignore[return-value]
    if b is not None and b[1] is s[1] and b[0] == s[0] and s[3] is None:
        # The same series (its label dict kept), maybe a new value: only that is written.
        return line if b[2] == s[2] else _revalued(line, s[2])  # type: ignore[return-value,arg-type]
    return _line(s)


class _Written(NamedTuple):
    """A family's lines of the last scrape as one string and where each line ends: one
    object instead of one string per series (150,000 at 10,000 tenants, 49 bytes of header
    each), and an unchanged family is copied whole."""

    text: str
    ends: array.array

    @classmethod
    def of(cls, lines: list[str]) -> _Written:
        return cls("".join(lines), array.array("Q", itertools.accumulate(map(len, lines))))

    def line(self, i: int) -> str:
        return self.text[self.ends[i - 1] if i else 0 : self.ends[i]]


def _lines(samples: list, last: tuple[list, _Written] | None) -> list[str]:
    if last is None:
        return [_line(s) for s in samples]
    before, written = last
    if len(before) == len(samples):
        # The same sample object as last time at the same place: the same line.
        lines = [written.line(i) if s is b else None for i, (s, b) in enumerate(zip(samples, before, strict=True))]
        if None in lines:
            for i, line in enumerate(lines):
                if line is None:
                    lines[i] = _again(samples[i], before[i], written.line(i))
        return lines  # type: ignore[return-value]
    # The family grew or shrank: each sample finds its series by its label dict.
    by_id = {id(b[1]): (b, i) for i, b in enumerate(before)}
    out = []
    for s in samples:
        b, i = by_id.get(id(s[1]), (None, -1))
        out.append(_again(s, b, written.line(i) if b is not None else None))
    return out


def generate(registry: Collector) -> bytes:
    families = list(registry.collect())
    last = _LAST.get(registry, {})  # concurrent scrapes each read one whole state and publish their own
    live: dict[str, tuple[list, _Written]] = {}
    # Pieces of the body as bytes, joined once: a str body encoded after would be a second
    # copy of it (16 MB at 10,000 tenants), and the lines collectors keep as bytes are
    # copied only into the body.
    out: list[bytes] = []
    for family in families:
        mtype = _FAST_TYPES.get(family.type)
        if mtype is None or not family.name.isidentifier():
            return generate_latest(registry)  # rare: let the reference writer do all of it
        mname = family.name + "_total" if family.type == "counter" else family.name
        doc = family.documentation.replace("\\", r"\\").replace("\n", r"\n")
        out.append(f"# HELP {mname} {doc}\n# TYPE {mname} {mtype}\n".encode())
        given = getattr(family, "lines", None)
        if given is not None:  # written by the collector: nothing to match or remember
            if given and isinstance(given[0], str):
                out.append("".join(given).encode())
            else:
                out.extend(given)
            continue
        samples = list(family.samples)
        before = last.get(family.name) if family.name not in live else None
        if before is not None and len(before[0]) == len(samples) and all(map(operator.is_, samples, before[0])):
            written = before[1]  # every sample as last time: the same text
        else:
            try:
                written = _Written.of(_lines(samples, before))
            except _Slow:
                return generate_latest(registry)
        live[family.name] = (samples, written)
        out.append(written.text.encode())
    _LAST[registry] = live
    return b"".join(out)
