"""Evidence bundles: a month's report with everything needed to check it (docs/evidence.md).

A bundle is a gzipped tar of one directory ``sla-evidence-YYYY-MM/`` holding the report
(``report.json``, ``report.html`` when the report can render HTML), the raw history the
report reads (``history.csv``, the import format), the corrections (``corrections.json``),
the config (``config.yaml``) and ``manifest.json``: the SHA-256 of every file and the head
of every probe's hash chain in the store. With a signing key, ``manifest.sig`` is the
Ed25519 signature of ``manifest.json``. Verifying a bundle checks the signature, the sums,
and that re-importing its history into a scratch store with its config reproduces its
report exactly.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from exporter import __version__, config, render, report
from exporter.config.redact import redact_header_values, redact_userinfo
from exporter.engine.accounting import probe_series
from exporter.engine.months import month_bounds_ms
from exporter.engine.units import instant_ms
from exporter.errors import UserError
from exporter.model import DEFAULT_LOCATION, Config, LedgerEntry, Probe, Tenant
from exporter.store import importer, ledger
from exporter.store.sqlite import Store

FORMAT = "sla-exporter-evidence/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
_UTC = dt.UTC


class EvidenceError(UserError):
    """A bundle or a key that does not check out; one line per problem."""


@dataclass(frozen=True)
class Written:
    path: str
    files: int
    observations: int
    signed: bool


@dataclass(frozen=True)
class Verified:
    month: str
    tenants: list[str]
    files: int
    signed: bool  # a signature is in the bundle
    signature_checked: bool


# -- corrections and the HTML page ----------------------------------------------------------


def corrections_for_bundle(store: Store, tenants: list[Tenant], tz: str) -> list[dict[str, Any]]:
    """Every ledger entry of ``tenants`` (corrections and revocations, in id order), as the
    ``corrections`` verb lists them: what the report's corrected figures apply."""
    names = {t.name for t in tenants}
    zone = ZoneInfo(tz)
    return [ledger.entry_doc(e, zone) for e in store.ledger() if e.tenant in names]


def restore_corrections(store: Store, entries: list[dict[str, Any]]) -> None:
    """Write a bundle's ledger entries into a scratch store as recorded (ids and times
    kept; no age limit applies to what was recorded then)."""

    def ms(text: str | None) -> int | None:
        return None if text is None else importer.parse_time(text)

    for e in entries:
        store.restore_entry(
            LedgerEntry(
                id=e["id"],
                kind=e["kind"],
                tenant=e["tenant"],
                reason=e["reason"],
                by=e["by"],
                recorded=importer.parse_time(e["recorded_at"]),
                start=ms(e.get("from")),
                end=ms(e.get("to")),
                state=e.get("as"),
                category=e.get("category"),
                revokes=e.get("revokes"),
            )
        )


# -- keys ---------------------------------------------------------------------------------


def keygen(path: str) -> str:
    """Write a new Ed25519 private key to ``path`` (PEM, mode 0600) and its public key to
    ``path.pub``; refuses to overwrite either. Returns the public key's path."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    pub_path = path + ".pub"
    for p in (path, pub_path):
        if os.path.exists(p):
            raise UserError(f"{p}: exists, not overwritten")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(private)
        with open(pub_path, "xb") as f:
            f.write(public)
    except OSError as err:
        raise UserError(f"{err.filename}: cannot write: {err.strerror}") from None
    return pub_path


def _read_key(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as err:
        raise UserError(f"{path}: cannot read: {err.strerror}") from None


def load_private_key(path: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(_read_key(path), password=None)
    except (ValueError, TypeError) as err:
        raise UserError(f"{path}: not an unencrypted PEM private key ({err})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UserError(f"{path}: expected an Ed25519 private key (openssl genpkey -algorithm ed25519)")
    return key


def load_public_key(path: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(_read_key(path))
    except (ValueError, TypeError) as err:
        raise UserError(f"{path}: not a PEM public key ({err})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise UserError(f"{path}: expected an Ed25519 public key")
    return key


# -- writing ------------------------------------------------------------------------------


def _iso(ms: int) -> str:
    stamp = dt.datetime.fromtimestamp(ms // 1000, _UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{ms % 1000:03d}Z" if ms % 1000 else f"{stamp}Z"


def _below(times: range, t: int) -> int:
    """How many of ``times`` (ascending) are before ``t``."""
    if not times or t <= times[0]:
        return 0
    return min(len(times), -(-(t - times[0]) // times.step))


def probe_observations(
    store: Store, tenant: str, probe: Probe, start: int, end: int, until: int | None, location: str = DEFAULT_LOCATION
) -> Iterator[tuple[int, bool]]:
    """The observations of one probe that the month's figures read, in time order: those in
    the month (cut at ``until``), and the ones around it that decide how the edges read -
    the last ``failure_threshold`` before the month (the stale_after look-back and the
    failures that count toward the threshold) and, for a closed month, the first
    ``failure_threshold`` after it. Re-imported alone they give the same figures: a run
    that reaches past them holds at least the threshold's count either way."""
    hi = end if until is None else until
    series = probe_series(store, tenant, probe, start, hi, until, location)
    keep = max(1, probe.failure_threshold)
    before: collections.deque[tuple[int, bool]] = collections.deque(maxlen=keep)
    for s in series:
        times = s.times()
        n = _below(times, start)
        before.extend((t, s.success) for t in times[max(0, n - keep) : n])
    yield from before
    after = keep
    for s in series:
        times = s.times()
        inside = times[_below(times, start) : _below(times, hi)]
        yield from ((t, s.success) for t in inside)
        if until is None and after > 0:
            beyond = times[_below(times, hi) :][:after]
            after -= len(beyond)
            yield from ((t, s.success) for t in beyond)


def _history(store: Store, tenants: list[Tenant], start: int, end: int, until: int | None, out: io.TextIOBase) -> int:
    writer = csv.writer(out, lineterminator="\n")
    where = {(t.name, p.name): store.locations(t.name, p.name) for t in tenants for p in t.probes}
    # The location column only when there is more than the default location: a single
    # exporter's bundle stays in the pinned four-column format.
    located = any(locs not in ([], [DEFAULT_LOCATION]) for locs in where.values())
    writer.writerow([*importer.HEADER, importer.LOCATION] if located else importer.HEADER)
    n = 0
    for tenant in tenants:
        for probe in tenant.probes:
            for location in where[(tenant.name, probe.name)]:
                for t, ok in probe_observations(store, tenant.name, probe, start, end, until, location):
                    row = (_iso(t), tenant.name, probe.name, 1 if ok else 0)
                    writer.writerow((*row, location) if located else row)
                    n += 1
    return n


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write(
    output: str,
    cfg: Config,
    config_text: str,
    store: Store,
    year: int,
    month: int,
    tenants: list[Tenant],
    now: float,
    signing_key: Ed25519PrivateKey | None = None,
) -> Written:
    """Write the evidence bundle of ``year-month`` to ``output`` (a .tar.gz). Refuses a
    store whose hash chains do not verify: evidence is not made from tampered history."""
    broken, _, _ = store.verify_chains()
    if broken is not None:
        raise EvidenceError(f"{store.path}: refused, the store does not verify: {describe(broken, cfg.timezone)}")
    problem, _ = store.verify_ledgers()
    if problem is not None:
        raise EvidenceError(f"{store.path}: refused, the store does not verify: {problem}")
    start, end = month_bounds_ms(year, month, cfg.timezone)
    now_ms = instant_ms(now)
    until = now_ms if start <= now_ms < end else None
    if now_ms < start:
        raise UserError(f"{year:04d}-{month:02d} has not begun")
    names = {t.name for t in tenants}
    prefix = f"sla-evidence-{year:04d}-{month:02d}"
    with tempfile.TemporaryDirectory(prefix="sla-evidence-") as tmp:
        files: dict[str, str] = {}

        def put(name: str, text: str) -> None:
            with open(os.path.join(tmp, name), "w", encoding="utf-8", newline="") as f:
                f.write(text)

        at = None if until is None else until / 1000
        with store.snapshot():  # the report, the history, the ledger and the heads of one moment
            doc = report.build(cfg, store, year, month, tenants, now=at)
            one = tenants[0].name if len(tenants) == 1 and len(cfg.tenants) > 1 else None
            html = render.html(cfg, store, (year, month), one, at)
            with open(os.path.join(tmp, "history.csv"), "w", encoding="utf-8", newline="") as f:
                observations = _history(store, tenants, start, end, until, f)
            heads = [h for h in store.chain_heads() if h.tenant in names]
            corrections = corrections_for_bundle(store, tenants, cfg.timezone)
        put("report.json", report.to_json(doc))
        put("report.html", html)
        put("corrections.json", json.dumps(corrections, indent=2) + "\n")
        # URL passwords and literal header values (credentials) stay out of a file meant to be
        # handed over; they do not change a figure.
        put("config.yaml", redact_userinfo(redact_header_values(config_text)))
        for name in sorted(os.listdir(tmp)):
            files[name] = _sha256(os.path.join(tmp, name))
        manifest = {
            "format": FORMAT,
            "sla_exporter": __version__,
            "created": dt.datetime.fromtimestamp(now, _UTC).isoformat(timespec="seconds"),
            "month": f"{year:04d}-{month:02d}",
            "tenants": [t.name for t in tenants],
            "complete": until is None,
            "until_ms": end if until is None else until,
            "files": files,
            "chains": [
                {
                    "tenant": h.tenant,
                    "probe": h.probe,
                    "records": h.records,
                    "head_start": None if h.head_start_ms is None else _iso(h.head_start_ms),
                    "head": h.head,
                }
                for h in heads
            ],
        }
        manifest_bytes = (json.dumps(manifest, indent=2) + "\n").encode()
        with open(os.path.join(tmp, MANIFEST), "wb") as f:
            f.write(manifest_bytes)
        if signing_key is not None:
            with open(os.path.join(tmp, SIGNATURE), "wb") as f:
                f.write(signing_key.sign(manifest_bytes))
        partial = output + ".partial"
        try:
            with tarfile.open(partial, "w:gz") as tar:
                for name in sorted(os.listdir(tmp)):
                    info = tar.gettarinfo(os.path.join(tmp, name), f"{prefix}/{name}")
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    info.mode = 0o644
                    info.mtime = int(now)
                    with open(os.path.join(tmp, name), "rb") as f:
                        tar.addfile(info, f)
            os.replace(partial, output)
        except OSError as err:
            raise UserError(f"{output}: cannot write: {err.strerror}") from None
        return Written(output, len(files), observations, signing_key is not None)


# -- verifying ----------------------------------------------------------------------------


def describe(broken: Any, timezone: str | None = None) -> str:
    """A store's chain break as one phrase: tenant, probe, the record's start, what is wrong."""
    if broken.start_ms is None:
        return f"tenant {broken.tenant}, probe {broken.probe}: {broken.problem}"
    return f"tenant {broken.tenant}, probe {broken.probe}, record starting {_iso(broken.start_ms)}: {broken.problem}"


def _members(path: str) -> dict[str, bytes]:
    """The bundle's files by name (under its one top directory); never extracted to disk."""
    try:
        tar = tarfile.open(path, "r:gz")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        raise EvidenceError(f"{path}: no such file") from None
    except (OSError, tarfile.TarError) as err:
        raise EvidenceError(f"{path}: not an evidence bundle (a .tar.gz): {err}") from None
    files: dict[str, bytes] = {}
    problems = []
    with tar:
        try:
            members = tar.getmembers()
        except (OSError, tarfile.TarError, EOFError) as err:
            raise EvidenceError(f"{path}: damaged archive: {err}") from None
        tops = {m.name.split("/", 1)[0] for m in members}
        for m in members:
            _, _, name = m.name.partition("/")
            if m.isdir() and not name.strip("/"):
                continue
            if len(tops) != 1 or not m.isfile() or not name or "/" in name or name in files:
                problems.append(f"{path}: unexpected archive member {m.name!r}")
                continue
            handle = tar.extractfile(m)
            files[name] = handle.read() if handle else b""
    if problems:
        raise EvidenceError("\n".join(problems))
    return files


def _first_difference(a: Any, b: Any, where: str = "") -> str:
    """The first key path where two JSON documents differ, with both values."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b or a[key] != b[key]:
                return _first_difference(a.get(key), b.get(key), f"{where}.{key}" if where else key)
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{where}[{i}]")
    return f"{where or 'the document'} is {json.dumps(a)} in the bundle, {json.dumps(b)} re-computed"


def verify(path: str, public_key: Ed25519PublicKey | None = None, key_name: str = "the key") -> Verified:
    """Check a bundle; raises EvidenceError naming every file that does not match, or what
    the re-computed report differs in."""
    files = _members(path)
    raw = files.pop(MANIFEST, None)
    if raw is None:
        raise EvidenceError(f"{path}: {MANIFEST}: missing")
    signature = files.pop(SIGNATURE, None)
    problems = []
    if public_key is not None:
        if signature is None:
            problems.append(f"{path}: the bundle is not signed ({SIGNATURE} missing): refused, --public-key was given")
        else:
            try:
                public_key.verify(signature, raw)
            except InvalidSignature:
                problems.append(
                    f"{path}: {SIGNATURE}: the signature does not verify with {key_name} "
                    f"(signed with another key, or {MANIFEST} was changed)"
                )
    try:
        manifest = json.loads(raw)
        listed = manifest["files"]
        assert manifest["format"] == FORMAT and isinstance(listed, dict)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise EvidenceError(
            "\n".join([*problems, f"{path}: {MANIFEST}: not an evidence manifest ({FORMAT})"])
        ) from None
    for name in sorted(set(listed) | set(files)):
        if name not in files:
            problems.append(f"{path}: {name}: listed in {MANIFEST}, missing from the bundle")
        elif name not in listed:
            problems.append(f"{path}: {name}: not listed in {MANIFEST} (added to the bundle)")
        elif hashlib.sha256(files[name]).hexdigest() != listed[name]:
            problems.append(f"{path}: {name}: SHA-256 does not match {MANIFEST} (the file was changed)")
    if problems:
        raise EvidenceError("\n".join(problems))
    _reproduce(path, manifest, files)
    return Verified(manifest["month"], manifest["tenants"], len(listed), signature is not None, public_key is not None)


def _reproduce(path: str, manifest: dict, files: dict[str, bytes]) -> None:
    """Re-import the bundle's history with its config into a scratch store; its report
    must come out byte for byte."""
    for name in ("report.json", "history.csv", "config.yaml", "corrections.json"):
        if name not in files:
            raise EvidenceError(f"{path}: {name}: missing")
    year, month = (int(x) for x in manifest["month"].split("-"))
    with tempfile.TemporaryDirectory(prefix="sla-verify-") as tmp:
        cfg_path = os.path.join(tmp, "config.yaml")
        with open(cfg_path, "wb") as f:
            f.write(files["config.yaml"])
        try:
            cfg = config.load(cfg_path, probing=False)  # a probe's ca_file stays on the machine that probed
        except UserError as err:
            raise EvidenceError(f"{path}: config.yaml does not load: {err}") from None
        tenants = []
        for name in manifest["tenants"]:
            tenant = cfg.tenant(name)
            if tenant is None:
                raise EvidenceError(f"{path}: tenant {name!r} of {MANIFEST} is not in config.yaml")
            tenants.append(tenant)
        history = os.path.join(tmp, "history.csv")
        with open(history, "wb") as f:
            f.write(files["history.csv"])
        try:
            with (
                open(history, newline="", encoding="utf-8") as f,
                importer.parse(f, cfg, spill_dir=tmp) as obs,
                Store(os.path.join(tmp, "scratch.db")) as store,
            ):
                importer.import_observations(store, cfg, obs)
                try:
                    restore_corrections(store, json.loads(files["corrections.json"]))
                except (KeyError, TypeError, ValueError) as err:
                    raise EvidenceError(f"{path}: corrections.json: not a list of ledger entries ({err})") from None
                now = None if manifest["complete"] else manifest["until_ms"] / 1000
                doc = report.build(cfg, store, year, month, tenants, now=now)
        except importer.ImportError_ as err:
            raise EvidenceError(f"{path}: history.csv does not import: {err.problems[0]}") from None
        except (UnicodeDecodeError, ValueError) as err:
            raise EvidenceError(f"{path}: does not re-import: {err}") from None
    again = report.to_json(doc)
    if again.encode() != files["report.json"]:
        bundled = json.loads(files["report.json"])
        raise EvidenceError(
            f"{path}: report.json is not reproduced by re-importing history.csv: "
            f"{_first_difference(bundled, json.loads(again))}"
        )
