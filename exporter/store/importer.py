"""Import of probe observations from the pinned CSV format.

    time,tenant,probe,success
    2026-10-01T00:00:00+03:00,acme-prod,agent-ui,1

``time`` is RFC 3339 with an offset or ``Z`` (lower-case ``t``/``z`` too; a leap second
``:60`` reads as the last millisecond of ``:59``; digits finer than a millisecond are cut
off), ``success`` is 1/0 or true/false; a UTF-8 byte-order mark before the header is fine.
The file is checked whole before anything is written, then merged in one transaction: a
bad row, a row dated more than 5 minutes ahead of now, or a row that contradicts recorded
history refuses the whole file, naming its line.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from exporter.engine.states import ConflictError
from exporter.engine.units import instant_ms
from exporter.errors import UserError
from exporter.model import Config
from exporter.store.sqlite import MergeResult, Store

HEADER = ["time", "tenant", "probe", "success"]
_SUCCESS = {"1": True, "0": False, "true": True, "false": False}
MAX_REPORTED = 20  # errors listed before "and N more"
MAX_AHEAD_MS = 5 * 60 * 1000  # rows dated further ahead of now than this are refused
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)
_LEAP_SECOND = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}):60(?:\.\d+)?(?=Z$|[+-]\d{2}:?\d{2}$)")


class ImportError_(UserError):
    """The file is refused; ``problems`` are ``line N: message`` strings."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class ImportSummary:
    rows: int
    probes: int
    first: float | None
    last: float | None
    result: MergeResult


@dataclass
class Observations:
    """Parsed rows grouped by probe, with each row's line for error messages."""

    by_probe: dict[tuple[str, str], list[tuple[int, bool]]]  # (time ms, success)
    lines: dict[tuple[str, str, int], tuple[int, bool]]  # first line and result of each
    rows: int


def parse_time(text: str) -> int:
    """RFC 3339 -> integer milliseconds since the epoch (finer digits cut off).

    An offset is required so that a row never depends on the importing machine's timezone.
    """
    text = text.strip().upper()
    text = _LEAP_SECOND.sub(r"\1:59.999", text)  # 23:59:60 -> the last ms of 23:59:59
    stamp = dt.datetime.fromisoformat(text)
    if stamp.tzinfo is None:
        raise ValueError("no offset")
    return (stamp - _EPOCH) // _MS


def parse(
    lines: Iterable[str], cfg: Config, progress: Callable[[int], None] | None = None, now: float | None = None
) -> Observations:
    """Parse and check a whole file; with ``now`` (epoch seconds), rows dated more than 5
    minutes ahead of it are refused (a clock or a file gone wrong, not an observation)."""
    reader = csv.reader(lines)
    problems: list[str] = []
    header = next(reader, None)
    if header:
        header[0] = header[0].removeprefix("\ufeff")  # spreadsheets write a byte-order mark
    if header is None or [h.strip().lower() for h in header] != HEADER:
        raise ImportError_([f"line 1: expected the header {','.join(HEADER)}, got {','.join(header or [])!r}"])
    known = {(t.name, p.name) for t in cfg.tenants for p in t.probes}
    tenants = {t.name for t in cfg.tenants}
    by_probe: dict[tuple[str, str], list[tuple[int, bool]]] = {}
    where: dict[tuple[str, str, int], tuple[int, bool]] = {}
    latest = None if now is None else instant_ms(now) + MAX_AHEAD_MS
    rows = 0

    def bad(message: str) -> None:
        problems.append(f"line {reader.line_num}: {message}")

    for row in reader:
        if progress and reader.line_num % 10000 == 0:
            progress(reader.line_num)
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        rows += 1
        if len(row) != 4:
            bad(f"expected 4 fields (time,tenant,probe,success), got {len(row)}")
            continue
        time_text, tenant, probe, success_text = (f.strip() for f in row)
        try:
            t = parse_time(time_text)
        except (ValueError, OverflowError):
            bad(f"time {time_text!r}: expected RFC 3339 with an offset, e.g. 2026-10-01T00:00:00+03:00 or ...Z")
            continue
        if latest is not None and t > latest:
            bad(
                f"time {time_text!r} is more than 5 minutes ahead of now ({_iso(now * 1000)}): "
                "refused, check the file and this machine's clock"
            )
            continue
        success = _SUCCESS.get(success_text.lower())
        if success is None:
            bad(f"success {success_text!r}: expected 1, 0, true or false")
            continue
        if (tenant, probe) not in known:
            what = f"probe {probe!r} of tenant {tenant!r}" if tenant in tenants else f"tenant {tenant!r}"
            bad(f"unknown {what}: not in the config")
            continue
        first, first_success = where.setdefault((tenant, probe, t), (reader.line_num, success))
        if first != reader.line_num:
            if first_success != success:
                bad(f"contradicts line {first}: same probe and time, other result")
            continue
        by_probe.setdefault((tenant, probe), []).append((t, success))
        if len(problems) > MAX_REPORTED:
            break
    if problems:
        extra = len(problems) - MAX_REPORTED
        raise ImportError_(problems[:MAX_REPORTED] + ([f"... and more ({extra}+)"] if extra > 0 else []))
    return Observations(by_probe, where, rows)


def import_observations(store: Store, cfg: Config, obs: Observations) -> ImportSummary:
    try:
        result = store.merge(obs.by_probe)
    except ConflictError as err:
        tenant, probe = err.key
        recorded = "success" if err.series.success else "failure"
        raise ImportError_(
            [
                f"line {obs.lines[(tenant, probe, err.time)][0]}: {tenant}/{probe} at {_iso(err.time)} contradicts "
                f"the recorded {recorded} at the same instant"
            ]
        ) from None
    firsts = [min(values)[0] for values in obs.by_probe.values() if values]
    lasts = [max(values)[0] for values in obs.by_probe.values() if values]
    return ImportSummary(
        rows=obs.rows,
        probes=len(obs.by_probe),
        first=min(firsts) / 1000 if firsts else None,
        last=max(lasts) / 1000 if lasts else None,
        result=result,
    )


def _iso(ms: float) -> str:
    return (_EPOCH + dt.timedelta(milliseconds=ms)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
