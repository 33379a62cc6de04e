"""Hash chains over stored records: tamper evidence for history and ledgers (docs/evidence.md).

Each record carries ``SHA-256(predecessor's hash || its content)``; the first record of a
chain links to a ``genesis`` hash that names the chain (the probe, or the ledger), so a
record moved to another chain does not verify. Changing a record's content, or deleting
or inserting one, breaks the link of that record or of the next one, unless whoever did it
recomputed every hash after it: the chain alone cannot tell that, only an anchor kept
elsewhere can (a signed bundle's chain heads). Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterable, Mapping
from typing import NamedTuple

_SERIES = struct.Struct(">qqqB")  # start_ms, step_ms, count, success: fixed width, unambiguous


def genesis(kind: str, *names: str) -> bytes:
    """The hash a chain starts from, naming it: ``genesis("series", tenant, probe)``."""
    # NUL-separated: no name contains NUL (YAML strings can, but tenant and probe names are
    # checked identifiers), so different name tuples never give the same bytes.
    return hashlib.sha256("\0".join(("sla-exporter", kind, *names)).encode()).digest()


def link(prev: bytes, content: bytes) -> bytes:
    return hashlib.sha256(prev + content).digest()


def series_content(start_ms: int, step_ms: int, count: int, success: bool) -> bytes:
    """The hashed content of one history record (a ``series`` row)."""
    return _SERIES.pack(start_ms, step_ms, count, 1 if success else 0)


def record_content(record: Mapping[str, object]) -> bytes:
    """The hashed content of a ledger record (say a correction): canonical JSON of its
    fields, so the same values always hash the same whatever the column order."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def hashes(prev: bytes, contents: Iterable[bytes]) -> list[bytes]:
    """The hashes of records with ``contents``, in chain order, following ``prev``."""
    out = []
    for content in contents:
        prev = link(prev, content)
        out.append(prev)
    return out


def series_hashes(prev: bytes, series: Iterable[tuple[bool, int, int, int]]) -> list[bytes]:
    """``hashes`` of history records given as series ``(success, start_ms, step_ms, count)``:
    the same values, with ``series_content`` and ``link`` inlined (an import of irregular
    times hashes a record per row or two, a million of them)."""
    out: list[bytes] = []
    append, pack, sha256 = out.append, _SERIES.pack, hashlib.sha256
    for success, start, step, count in series:
        prev = sha256(prev + pack(start, step, count, 1 if success else 0)).digest()
        append(prev)
    return out


class Break(NamedTuple):
    """The first record of a chain that does not verify: its position and what is wrong."""

    index: int
    problem: str


def check(start: bytes, records: Iterable[tuple[bytes, bytes | None]]) -> Break | None:
    """Check a chain of ``(content, stored hash)`` records from ``start`` (its genesis);
    None when every record verifies. Each record is checked against its predecessor's
    *stored* hash, so the first break names the record where the chain changed."""
    recs = list(records)
    prev = earlier = start  # the last verified hash, and the one before it
    for i, (content, stored) in enumerate(recs):
        if stored is not None and stored == link(prev, content):
            earlier, prev = prev, stored
            continue
        after = recs[i + 1] if i + 1 < len(recs) else None
        if after is not None and after[1] == link(prev, after[0]):
            return Break(i, INSERTED)  # the next record links past this one
        if i > 0 and stored == link(earlier, content):
            return Break(i - 1, INSERTED)  # this one links past the one before it
        if stored is None:
            return Break(i, "has no hash (written outside sla-exporter)")
        return Break(i, MISMATCH)
    return None


INSERTED = "was inserted: the record after it links to the one before it"
MISMATCH = "does not match its hash: the record was edited, or the one before it deleted"
