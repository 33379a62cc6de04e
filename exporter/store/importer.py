"""Import of probe observations from the pinned CSV format.

    time,tenant,probe,success
    2026-10-01T00:00:00+03:00,acme-prod,agent-ui,1

An optional fifth column ``location`` names where each row was observed (empty: the
import's default location, ``--location``).

``time`` is RFC 3339 with an offset or ``Z`` (lower-case ``t``/``z`` too; a leap second
``:60`` reads as the last millisecond of ``:59``; digits finer than a millisecond are cut
off), ``success`` is 1/0 or true/false; a UTF-8 byte-order mark before the header is fine.
The file is checked whole before anything is written: a bad row, a row dated more than 5
minutes ahead of now, or a row that contradicts recorded history refuses the whole file,
naming its line.

The file streams through in chunks of rows: each chunk becomes series (evenly spaced
equal results, as the store keeps them) merged into what the file gave so far, so a
steady probe costs a few series however many rows it has. Memory is bounded whatever the
file size: when the file's series pass ``SPILL_SERIES`` (irregular times cost a series per
one or two rows), they are appended to a scratch database on disk, which is read back in
chunks, probe by probe in time order. Line numbers are not kept per row; the rare message
that needs the line of an earlier row reads the file again to find it.
"""

from __future__ import annotations

import array
import bisect
import contextlib
import csv
import datetime as dt
import gc
import heapq
import itertools
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from exporter.engine.states import ConflictError, Series, merge
from exporter.engine.units import instant_ms
from exporter.errors import UserError
from exporter.model import DEFAULT_LOCATION, Config
from exporter.store.sqlite import MergeResult, Store, shown

HEADER = ["time", "tenant", "probe", "success"]
LOCATION = "location"  # the optional fifth column
_LOCATION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")
_SUCCESS = {"1": True, "0": False, "true": True, "false": False}
MAX_REPORTED = 20  # errors listed before "and N more"
MAX_AHEAD_MS = 5 * 60 * 1000  # rows dated further ahead of now than this are refused
CHUNK_ROWS = 100_000  # rows parsed before they are merged into series (~15 MB of tuples)
SPILL_SERIES = 200_000  # series held in memory (~40 MB) before they go to a scratch store
WRITE_CHUNK = 20_000  # series per probe read, checked and written at a time
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)
_LEAP_SECOND = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}):60(?:\.\d+)?(?=Z$|[+-]\d{2}:?\d{2}$)")
Key = tuple[str, str, str]  # (tenant, probe, location)


def check_location(name: str) -> str:
    """A location's name: letters, digits and ``_ . : -``, starting with a letter or digit."""
    if not _LOCATION_NAME.fullmatch(name):
        raise ValueError(f"expected a location name of letters, digits and _.:- (e.g. eu-west-1), got {name!r}")
    return name


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
    """A parsed and checked file: each probe's observations as series, in memory, or for a
    large irregular file in a scratch database on disk (``close()`` removes it)."""

    series: dict[Key, list[Series]]
    rows: int
    first: int | None = None  # ms
    last: int | None = None
    scratch: _Scratch | None = None
    find_lines: Callable[[Key, int], list[int]] | None = field(default=None, repr=False)
    held: int = 0  # series in ``series``

    @property
    def probes(self) -> int:
        if self.scratch is not None:
            return len(self.scratch.ids)
        return len(self.series)

    def probe_keys(self) -> list[Key]:
        return list(self.scratch.ids if self.scratch is not None else self.series)

    def chunks(self, only: set[Key] | None = None) -> Iterator[tuple[Key, list[Series]]]:
        """Each probe's series in time order, at most WRITE_CHUNK at a time (``only``: of
        those probes)."""
        if self.scratch is not None:
            yield from self.scratch.chunks(WRITE_CHUNK, only)
            return
        for key, series in self.series.items():
            if only is None or key in only:
                for i in range(0, len(series), WRITE_CHUNK):
                    yield key, series[i : i + WRITE_CHUNK]

    @property
    def by_probe(self) -> dict[Key, list[tuple[int, bool]]]:
        """Every observation, by probe (for small files: tests)."""
        out: dict[Key, list[tuple[int, bool]]] = {}
        for key, series in self.chunks():
            out.setdefault(key, []).extend((t, s.success) for s in series for t in s.times())
        return out

    def close(self) -> None:
        if self.scratch is not None:
            self.scratch.close()
            self.scratch = None

    def __enter__(self) -> Observations:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Scratch:
    """The series of a large file, spilled to a database on disk. Each spill appends each
    probe's series as one ``part``: one row holding them packed, without reading anything
    back (a store's merge read and rewrote what was spilled before, twice, at every spill,
    and a row per series cost most of the rest). A file in time order gives each probe's
    parts one after the other, read back one after the other, a series that goes on in the
    next part joined to it on the way; a probe whose parts overlap in time (rows out of
    order) is merged once at the end (``finish``), which also finds the rows that
    contradict each other across spills."""

    def __init__(self, spill_dir: str | None):
        fd, self.path = tempfile.mkstemp(prefix="sla-import-", suffix=".db", dir=spill_dir)
        os.close(fd)
        self.db = sqlite3.connect(self.path, isolation_level=None)
        try:
            # Scratch, removed after use: no rollback journal, no syncs.
            self.db.execute("PRAGMA journal_mode = OFF")
            self.db.execute("PRAGMA synchronous = OFF")
            # A probe's parts in the order they were written (id).
            self.db.execute("CREATE TABLE parts (id INTEGER PRIMARY KEY, probe INTEGER NOT NULL, data BLOB NOT NULL)")
            self.db.execute("CREATE INDEX parts_probe ON parts (probe, id)")
        except BaseException:
            self.close()  # a full disk, say: no file left behind
            raise
        self.ids: dict[Key, int] = {}  # in the order probes first came
        self.ends: dict[int, int] = {}  # probe -> the time of its latest observation spilled
        self.tangled: set[int] = set()  # probes whose parts overlap in time: merged by finish()

    def add(self, held: dict[Key, list[Series]]) -> None:
        """Append the series held in memory, a part per probe."""
        rows = []
        for key, series in held.items():
            probe = self.ids.setdefault(key, len(self.ids))
            end = self.ends.get(probe)
            if end is not None and end >= series[0].start:
                self.tangled.add(probe)
            self.ends[probe] = series[-1].last if end is None else max(end, series[-1].last)
            rows.append((probe, _pack(series)))
        self.db.execute("BEGIN")
        self.db.executemany("INSERT INTO parts (probe, data) VALUES (?, ?)", rows)
        self.db.execute("COMMIT")

    def finish(self, conflict: Callable[[Key, int], None]) -> None:
        """Merge the parts of each probe that overlap in time; ``conflict(key, time)`` for
        two rows with other results at one instant."""
        keys = {probe: key for key, probe in self.ids.items()}
        for probe in sorted(self.tangled):
            try:
                self._merge_parts(probe)
            except ConflictError as err:
                conflict(keys[probe], err.time)
        self.tangled.clear()

    def _merge_parts(self, probe: int) -> None:
        """A probe's parts merged into new ones in time order, a stream: each part read a
        piece at a time, so that memory stays bounded however long its history."""
        ids = [r[0] for r in self.db.execute("SELECT id FROM parts WHERE probe = ? ORDER BY id", (probe,))]
        self.db.execute("BEGIN")
        try:
            out: list[Series] = []  # merged, not yet written: the series later ones may still reach
            for n, new in enumerate(heapq.merge(*(self._read(i) for i in ids), key=_start)):
                # Later series start at or after this one: only the tail it reaches can change.
                i = max(0, bisect.bisect_left(out, new.start, key=_last) - 1)
                out[i:], _ = merge(out[i:], [new])
                if n % WRITE_CHUNK == WRITE_CHUNK - 1:
                    done = max(0, bisect.bisect_left(out, new.start, key=_last) - 1)
                    if done:
                        self.db.execute("INSERT INTO parts (probe, data) VALUES (?, ?)", (probe, _pack(out[:done])))
                        del out[:done]
            if out:
                self.db.execute("INSERT INTO parts (probe, data) VALUES (?, ?)", (probe, _pack(out)))
            self.db.executemany("DELETE FROM parts WHERE id = ?", [(i,) for i in ids])
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _read(self, part: int) -> Iterator[Series]:
        """The series of one part, read a piece at a time."""
        for piece in self._pieces(part):
            yield from piece

    def chunks(self, size: int, only: set[Key] | None = None) -> Iterator[tuple[Key, list[Series]]]:
        """Every probe's series (``only``: of those probes) in time order, at most ``size``
        at a time (after ``finish``)."""
        for key, probe in self.ids.items():
            if only is not None and key not in only:
                continue
            held: list[Series] = []
            for (part,) in self.db.execute("SELECT id FROM parts WHERE probe = ? ORDER BY id", (probe,)).fetchall():
                for piece in self._pieces(part):
                    if held:
                        # The last series of the part before may go on in this one.
                        held[-1:], _ = merge(held[-1:], piece[:1])
                        held += piece[1:]
                    else:
                        held = piece
                    while len(held) > size:  # the last one kept back: it may go on
                        yield key, held[:size]
                        held = held[size:]
            if held:
                yield key, held

    def _pieces(self, part: int) -> Iterator[list[Series]]:
        with self.db.blobopen("parts", "data", part, readonly=True) as blob:
            while data := blob.read(_PIECE):
                yield _unpack(data)

    def close(self) -> None:
        self.db.close()
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path + suffix)


_PIECE = 32 * 8192  # bytes of a part read at a time: 8,192 series


def _pack(series: list[Series]) -> bytes:
    """Series as 4 native 8-byte integers each (success, start, step, count)."""
    return array.array("q", itertools.chain.from_iterable(series)).tobytes()


def _unpack(data: bytes) -> list[Series]:
    values = array.array("q")
    values.frombytes(data)
    it = iter(values)
    return [_new(Series, (ok == 1, start, step, count)) for ok, start, step, count in zip(it, it, it, it, strict=True)]


def _start(s: Series) -> int:
    return s.start


_new = tuple.__new__  # a Series from its fields without the Python-level __new__ (a million of them)


def _last(s: Series) -> int:
    return s.last


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused: an import makes millions of tuples (rows and
    series) and no reference cycles, and each collection walks every one still alive
    (about a sixth of a large import's time, measured)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_time(text: str) -> int:
    """RFC 3339 -> integer milliseconds since the epoch (finer digits cut off).

    An offset is required so that a row never depends on the importing machine's timezone.
    """
    try:
        stamp = dt.datetime.fromisoformat(text)  # most times, as written: nothing to rework
    except ValueError:
        text = text.strip().upper()
        if ":60" in text:
            text = _LEAP_SECOND.sub(r"\1:59.999", text)  # 23:59:60 -> the last ms of 23:59:59
        stamp = dt.datetime.fromisoformat(text)
    if stamp.tzinfo is None:
        raise ValueError("no offset")
    return (stamp - _EPOCH) // _MS


@_collector_paused()
def parse(
    lines: Iterable[str] | IO[str],
    cfg: Config,
    progress: Callable[[int], None] | None = None,
    now: float | None = None,
    spill_dir: str | None = None,
    location: str = DEFAULT_LOCATION,
) -> Observations:
    """Parse and check a whole file; with ``now`` (epoch seconds), rows dated more than 5
    minutes ahead of it are refused (a clock or a file gone wrong, not an observation).
    Rows without a location are ``location``'s.
    ``progress(lines read)`` is called every 10,000 lines. A large file with irregular
    times spills to a scratch store in ``spill_dir`` (default: the system's temporary
    directory); close the result (``with``) to remove it."""
    problems: list[tuple[int, str]] = []
    find_lines = _line_finder(lines)  # before reading: it notes where the file starts
    reader = csv.reader(lines)
    header = next(reader, None)
    if header:
        header[0] = header[0].removeprefix("\ufeff")  # spreadsheets write a byte-order mark
    columns = [h.strip().lower() for h in header or []]
    if columns not in (HEADER, [*HEADER, LOCATION]):
        raise ImportError_(
            [
                f"line 1: expected the header {','.join(HEADER)} or {','.join([*HEADER, LOCATION])}, "
                f"got {','.join(header or [])!r}"
            ]
        )
    width = len(columns)
    probes_of = {t.name: {p.name: (t.name, p.name, location) for p in t.probes} for t in cfg.tenants}
    places: dict[str, str] = {"": location}  # location cell -> its name, checked once
    latest = None if now is None else instant_ms(now) + MAX_AHEAD_MS
    obs = Observations({}, 0, find_lines=find_lines)
    chunk: dict[Key, list[tuple[int, int, bool]]] = {}  # (time ms, line, success)
    in_chunk = rows = 0
    times: dict[str, int] = {}  # rows of one export share their times: parse each once
    fromisoformat = dt.datetime.fromisoformat

    def bad(line: int, message: str) -> None:
        problems.append((line, message))

    try:
        for row in reader:
            line = reader.line_num
            if progress and line % 10000 == 0:
                progress(line)
            if len(row) != width:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                rows += 1
                bad(line, f"expected {width} fields ({','.join(columns)}), got {len(row)}")
                continue
            rows += 1
            time_text = row[0]
            t = times.get(time_text)
            if t is None:
                try:
                    # parse_time inlined for times as written (wandering times: most rows).
                    try:
                        stamp = fromisoformat(time_text)
                    except ValueError:
                        t = parse_time(time_text)  # reworked, or the error
                    else:
                        if stamp.tzinfo is None:
                            raise ValueError("no offset")
                        t = (stamp - _EPOCH) // _MS
                except (ValueError, OverflowError):
                    bad(
                        line,
                        f"time {time_text.strip()!r}: expected RFC 3339 with an offset, e.g. "
                        "2026-10-01T00:00:00+03:00 or ...Z",
                    )
                    continue
                if len(times) >= 100_000:
                    times.clear()
                times[time_text] = t
            if latest is not None and t > latest:
                bad(
                    line,
                    f"time {time_text.strip()!r} is more than 5 minutes ahead of now ({_iso(now * 1000)}): "  # type: ignore[operator]
                    "refused, check the file and this machine's clock",
                )
                continue
            # Exact forms first: stripping and lower-casing every field costs more than the rest.
            success = _SUCCESS.get(row[3])
            if success is None:
                success = _SUCCESS.get(row[3].strip().lower())
                if success is None:
                    bad(line, f"success {row[3].strip()!r}: expected 1, 0, true or false")
                    continue
            probes = probes_of.get(row[1])
            key = None if probes is None else probes.get(row[2])
            if key is None:
                tenant, probe = row[1].strip(), row[2].strip()
                key = probes_of.get(tenant, {}).get(probe)
                if key is None:
                    what = f"probe {probe!r} of tenant {tenant!r}" if tenant in probes_of else f"tenant {tenant!r}"
                    bad(line, f"unknown {what}: not in the config")
                    continue
            if width == 5:
                place = places.get(row[4])
                if place is None:
                    try:
                        place = places[row[4]] = check_location(row[4].strip()) if row[4].strip() else location
                    except ValueError as err:
                        bad(line, f"location: {err}")
                        continue
                if place != location:
                    key = (key[0], key[1], place)
            found = chunk.get(key)
            if found is None:
                chunk[key] = [(t, line, success)]
            else:
                found.append((t, line, success))
            in_chunk += 1
            if in_chunk >= CHUNK_ROWS:
                _add_chunk(obs, chunk, bad, spill_dir)
                chunk, in_chunk = {}, 0
            if len(problems) > MAX_REPORTED:
                break
        obs.rows = rows
        if not problems:
            _add_chunk(obs, chunk, bad, spill_dir)
            if obs.scratch is not None and not problems:
                _spill(obs, spill_dir)
                obs.scratch.finish(lambda key, t: _conflict_in_file(obs, key, t, bad))
    except BaseException:
        obs.close()
        raise
    if problems:
        obs.close()
        problems.sort()
        listed = [f"line {n}: {message}" for n, message in problems[:MAX_REPORTED]]
        extra = len(problems) - MAX_REPORTED
        raise ImportError_(listed + ([f"... and more ({extra}+)"] if extra > 0 else []))
    return obs


def _add_chunk(
    obs: Observations,
    chunk: dict[Key, list[tuple[int, int, bool]]],
    bad: Callable[[int, str], None],
    spill_dir: str | None,
) -> None:
    """Merge a chunk of rows into the file's series; spill them to disk past SPILL_SERIES."""
    make = Series
    for key, rows in chunk.items():
        rows.sort()  # by time, then line
        # Repeated rows dropped and the rest made series in one pass (``states.series_of``
        # inlined: this loop sees every row of the file).
        new: list[Series] = []
        prev_t, prev_line = None, 0
        ok, start, step, count = False, 0, 0, 0
        for t, line, result in rows:
            if t == prev_t:
                if result != ok:
                    bad(line, f"contradicts line {prev_line}: same probe and time, other result")
                continue
            if count and result == ok and (count == 1 or t - prev_t == step):
                if count == 1:
                    step = t - prev_t
                count += 1
            else:
                if count:
                    new.append(make(ok, start, step if count > 1 else 0, count))
                ok, start, step, count = result, t, 0, 1
            prev_t, prev_line = t, line
        new.append(make(ok, start, step if count > 1 else 0, count))
        obs.first = new[0].start if obs.first is None else min(obs.first, new[0].start)
        obs.last = new[-1].last if obs.last is None else max(obs.last, new[-1].last)
        held = obs.series.get(key)
        if held is None:
            obs.series[key] = new
            obs.held += len(new)
            continue
        before = len(held)
        if held[-1].last < new[0].start:
            # A file in time order appends: only the last series held may go on in the new ones.
            held[-1:], _ = merge(held[-1:], new[:1])
            held += new[1:]
        else:
            # Only the tail the new series reach into is merged.
            i = max(0, bisect.bisect_left(held, new[0].start, key=_last) - 1)
            try:
                held[i:], _ = merge(held[i:], new)
            except ConflictError as err:
                _conflict_in_file(obs, key, err.time, bad)
        obs.held += len(held) - before
    if obs.held > SPILL_SERIES:
        _spill(obs, spill_dir)


def _spill(obs: Observations, spill_dir: str | None) -> None:
    """Move the series held in memory to the scratch database (made on first use)."""
    if obs.scratch is None:
        obs.scratch = _Scratch(spill_dir)
    obs.scratch.add(obs.series)
    obs.series = {}
    obs.held = 0


def _conflict_in_file(obs: Observations, key: Key, t: int, bad: Callable[[int, str], None]) -> None:
    lines = obs.find_lines(key, t) if obs.find_lines else []
    if len(lines) >= 2:
        bad(lines[-1], f"contradicts line {lines[0]}: same probe and time, other result")
    else:
        bad(0, f"{key[0]}/{shown(key[1], key[2])} at {_iso(t)}: two rows with other results at the same instant")


def _line_finder(lines: Iterable[str] | IO[str]) -> Callable[[Key, int], list[int]] | None:
    """How to find the lines of a probe's rows at one instant by reading the file again
    (only for error messages), or None when it cannot be read again (standard input).
    Lines of one result are left out after the first, so [first, first of the other]."""
    if isinstance(lines, (list, tuple)):
        again: Callable[[], Iterable[str]] = lambda: lines  # noqa: E731
    elif hasattr(lines, "seekable") and lines.seekable():  # type: ignore[union-attr]
        start = lines.tell()  # type: ignore[union-attr]

        def again() -> Iterable[str]:
            lines.seek(start)  # type: ignore[union-attr]
            return lines  # type: ignore[return-value]
    else:
        return None

    def find(key: Key, t: int) -> list[int]:
        found: list[int] = []
        results: set[str] = set()
        reader = csv.reader(again())
        width = len(next(reader, None) or ())
        for row in reader:
            if len(row) != width or (row[1].strip(), row[2].strip()) != key[:2]:
                continue
            if width == 5 and row[4].strip() and row[4].strip() != key[2]:
                continue
            try:
                if parse_time(row[0]) != t:
                    continue
            except (ValueError, OverflowError):
                continue
            result = row[3].strip().lower()
            if result not in results:
                results.add(result)
                found.append(reader.line_num)
        return found

    return find


@_collector_paused()
def import_observations(
    store: Store, cfg: Config, obs: Observations, progress: Callable[[int], None] | None = None
) -> ImportSummary:
    """Check the parsed file against recorded history, then write it (idempotent).
    ``progress(series written)`` is called after each transaction."""
    with store.lock:
        recorded = {key for key in obs.probe_keys() if store.probe_id(*key, create=False) is not None}
    try:
        # Only the probes with recorded history are checked against it: reading back a large
        # file's series costs about a tenth of its import.
        result = store.merge_series(obs.chunks, progress=progress, check=lambda: obs.chunks(recorded))
    except ConflictError as err:
        tenant, probe, location = err.key
        recorded = "success" if err.series.success else "failure"
        lines = obs.find_lines(err.key, err.time) if obs.find_lines else []
        where = f"line {lines[0]}" if lines else "a row"
        raise ImportError_(
            [
                f"{where}: {tenant}/{shown(probe, location)} at {_iso(err.time)} contradicts "
                f"the recorded {recorded} at the same instant"
            ]
        ) from None
    return ImportSummary(
        rows=obs.rows,
        probes=obs.probes,
        first=None if obs.first is None else obs.first / 1000,
        last=None if obs.last is None else obs.last / 1000,
        result=result,
    )


def _iso(ms: float) -> str:
    return (_EPOCH + dt.timedelta(milliseconds=ms)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
