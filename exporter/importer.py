"""Import of probe observations from the pinned CSV format.

    time,tenant,probe,success
    2026-10-01T00:00:00+03:00,acme-prod,agent-ui,1

``time`` is RFC 3339 with an offset or ``Z``; ``success`` is 1/0 or true/false. The file
is checked whole before anything is written, then merged in one transaction: a bad row
or a row that contradicts recorded history refuses the whole file, naming its line.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from exporter.model import Config
from exporter.states import ConflictError
from exporter.store import MergeResult, Store

HEADER = ["time", "tenant", "probe", "success"]
_SUCCESS = {"1": True, "0": False, "true": True, "false": False}
MAX_REPORTED = 20  # errors listed before "and N more"


class ImportError_(Exception):
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

    by_probe: dict[tuple[str, str], list[tuple[float, bool]]]
    lines: dict[tuple[str, str, float], tuple[int, bool]]  # first line and result of each
    rows: int


def parse_time(text: str) -> float:
    # fromisoformat takes RFC 3339 ('Z' included, since 3.11); an offset is required so
    # that a row never depends on the importing machine's timezone.
    stamp = dt.datetime.fromisoformat(text.strip())
    if stamp.tzinfo is None:
        raise ValueError("no offset")
    return stamp.timestamp()


def parse(lines: Iterable[str], cfg: Config, progress: Callable[[int], None] | None = None) -> Observations:
    reader = csv.reader(lines)
    problems: list[str] = []
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header] != HEADER:
        raise ImportError_([f"line 1: expected the header {','.join(HEADER)}, got {','.join(header or [])!r}"])
    known = {(t.name, p.name) for t in cfg.tenants for p in t.probes}
    tenants = {t.name for t in cfg.tenants}
    by_probe: dict[tuple[str, str], list[tuple[float, bool]]] = {}
    where: dict[tuple[str, str, float], tuple[int, bool]] = {}
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
            t = round(parse_time(time_text), 3)
        except ValueError:
            bad(f"time {time_text!r}: expected RFC 3339 with an offset, e.g. 2026-10-01T00:00:00+03:00 or ...Z")
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
    stale = {(t.name, p.name): p.stale_after for t in cfg.tenants for p in t.probes}
    batches = {key: (values, stale[key]) for key, values in obs.by_probe.items()}
    try:
        result = store.merge(batches)
    except ConflictError as err:
        tenant, probe = err.key
        recorded = "success" if err.run.success else "failure"
        raise ImportError_(
            [
                f"line {obs.lines[(tenant, probe, err.time)][0]}: {tenant}/{probe} at {_iso(err.time)} contradicts "
                f"the recorded {recorded} from {_iso(err.run.start)} to {_iso(err.run.last)}"
            ]
        ) from None
    times = [t for values in obs.by_probe.values() for t, _ in values]
    return ImportSummary(
        rows=obs.rows,
        probes=len(obs.by_probe),
        first=min(times) if times else None,
        last=max(times) if times else None,
        result=result,
    )


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat().replace("+00:00", "Z")
