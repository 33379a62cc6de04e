"""Command line: ``sla-exporter VERB [flags]``. Flags follow Prometheus exporter
conventions (``--config.file``). Exit 0 success, 1 bad input, 2 usage."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sys
import time
from zoneinfo import ZoneInfo

from exporter import __version__, config, logs, render, report
from exporter.config.redact import redact_userinfo
from exporter.engine.corrections import CATEGORIES, STATES
from exporter.engine.maintenance import occurrences
from exporter.engine.months import day_bounds, month_bounds_ms
from exporter.engine.units import format_duration, instant_ms, parse_duration_ms
from exporter.errors import UserError
from exporter.model import DEFAULT_LOCATION, Config, Tenant
from exporter.probing import sharding
from exporter.store import importer, ledger
from exporter.store.backend import is_url
from exporter.store.sqlite import Store
from exporter.support import calendar as businesshours, deadlines as support
from exporter.web.server import parse_address
from exporter.web.webconfig import WebConfigError

DEFAULT_STORAGE = "sla-exporter.db"
DEFAULT_LISTEN = ":9929"


def _month(text: str) -> tuple[int, int]:
    try:
        stamp = dt.datetime.strptime(text, "%Y-%m")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM, got {text!r}") from None
    return stamp.year, stamp.month


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None


def _instant(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time such as 2026-11-27T15:00+02:00, got {text!r}"
        ) from None


def _step(text: str) -> int:
    try:
        ms = parse_duration_ms(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if ms < 1000:
        raise argparse.ArgumentTypeError(f"expected at least 1s, got {text!r}")
    return ms


def _address(text: str) -> tuple[str, int]:
    try:
        return parse_address(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _location(text: str) -> str:
    try:
        return importer.check_location(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _shard(text: str) -> tuple[int, int]:
    try:
        return sharding.parse(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


_STORAGE_URL_HELP = "PostgreSQL store shared by several exporters: postgresql://USER:PASS@HOST:PORT/DB"


def _pg_url(text: str) -> str:
    if not text.startswith(("postgresql://", "postgres://")):
        raise argparse.ArgumentTypeError(f"expected postgresql://USER:PASS@HOST:PORT/DB, got {redact_userinfo(text)!r}")
    return text


def _shown(target: str) -> str:
    """A store's name for messages: a URL's password never shows."""
    return redact_userinfo(target)


def _parents() -> dict[str, argparse.ArgumentParser]:
    """The flags several verbs share, declared once each (argparse parent parsers). --tenant
    and --format stay with their verbs: their meaning, choices and defaults differ."""

    def parent() -> argparse.ArgumentParser:
        return argparse.ArgumentParser(add_help=False)

    config_file, storage, listen, log = parent(), parent(), parent(), parent()
    config_file.add_argument("--config.file", dest="config_file", required=True, metavar="F", help="YAML config file")
    where = storage.add_mutually_exclusive_group()
    where.add_argument(
        "--storage.path",
        dest="storage_path",
        default=DEFAULT_STORAGE,
        metavar="DB",
        help=f"SQLite store (default {DEFAULT_STORAGE})",
    )
    where.add_argument("--storage.url", dest="storage_url", type=_pg_url, metavar="URL", help=_STORAGE_URL_HELP)
    listen.add_argument(
        "--web.listen-address",
        dest="listen",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        type=_address,
        help=f"where to serve /metrics (default {DEFAULT_LISTEN})",
    )
    log.add_argument("--log.format", dest="log_format", choices=("logfmt", "json"), default="logfmt")
    log.add_argument("--log.level", dest="log_level", choices=logs.LEVELS, default="info")
    return {"config": config_file, "storage": storage, "listen": listen, "logging": log}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sla-exporter",
        description="Prometheus exporter and calculator for calendar-month SLA availability.",
    )
    parser.add_argument("--version", action="version", version=f"sla-exporter {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    shared = _parents()

    def verb(name: str, help_: str, *parents: str) -> argparse.ArgumentParser:
        """A verb with the shared flags of ``parents`` (first, in that order) and its own."""
        return verbs.add_parser(name, help=help_, description=help_, parents=[shared[p] for p in parents])

    p = verb(
        "run", "probe the tenants on schedule, record history, serve /metrics", "config", "storage", "listen", "logging"
    )
    p.add_argument(
        "--web.config.file",
        dest="web_config",
        metavar="F",
        help="TLS and basic auth (exporter-toolkit web config format)",
    )
    p.add_argument(
        "--shard",
        type=_shard,
        default=(0, 1),
        metavar="I/N",
        help="probe only the tenants of shard I of N (0 <= I < N; a stable hash of the tenant name)",
    )
    p.add_argument(
        "--location",
        type=_location,
        default=DEFAULT_LOCATION,
        metavar="NAME",
        help=f"where this exporter probes from: its results are this location's (default {DEFAULT_LOCATION})",
    )
    p.add_argument(
        "--probe.workers",
        dest="workers",
        type=_positive,
        metavar="N",
        help="probe threads (default: enough for every probe to hang for its whole timeout)",
    )

    verb("demo", "run the exporter on simulated tenants, no setup needed", "listen", "logging")

    verb("check", "validate the config file and print a summary", "config")

    p = verb("windows", "list the maintenance windows between two dates, in local time and UTC", "config")
    p.add_argument("--from", dest="date_from", type=_date, required=True, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", type=_date, required=True, metavar="YYYY-MM-DD", help="last day, included")
    p.add_argument("--tenant", metavar="T", help="only windows that apply to this tenant")

    p = verb("import", "import probe observations from CSV (time,tenant,probe,success[,location])", "config", "storage")
    p.add_argument("file", metavar="FILE.csv", help="CSV file, or - for standard input")
    p.add_argument(
        "--location",
        type=_location,
        default=DEFAULT_LOCATION,
        metavar="NAME",
        help=f"the location of rows without one (default {DEFAULT_LOCATION})",
    )

    p = verb("deadlines", "support deadlines of an incident or service request opened at a given time", "config")
    p.add_argument(
        "--opened",
        type=_instant,
        required=True,
        metavar="ISO8601",
        help="when it was opened; without an offset, local time of the business calendar",
    )
    kind = p.add_mutually_exclusive_group(required=True)
    kind.add_argument("--priority", metavar="P1..P4", help="incident priority")
    kind.add_argument("--service-request", dest="service_request", action="store_true", help="a minor service request")
    p.add_argument("--defect", action="store_true", help="the incident is a product defect")
    p.add_argument("--tenant", metavar="T", help="check the priority is allowed for this tenant")
    p.add_argument("--format", choices=("text", "json"), default="text")

    p = verb("report", "availability report for a calendar month", "config", "storage")
    p.add_argument("--month", type=_month, required=True, metavar="YYYY-MM")
    p.add_argument("--tenant", metavar="T", help="only this tenant")
    p.add_argument(
        "--format",
        choices=sorted([*report.FORMATS, "html"]),
        default="table",
        help="html: one self-contained page that prints to A4",
    )

    p = verb(
        "correct",
        "record a correction of a tenant's measured state (or revoke one) in the append-only ledger",
        "config",
        "storage",
    )
    p.add_argument("--tenant", metavar="T")
    p.add_argument("--from", dest="time_from", type=_instant, metavar="ISO8601", help="without an offset: local time")
    p.add_argument("--to", dest="time_to", type=_instant, metavar="ISO8601", help="end, excluded")
    p.add_argument("--as", dest="state", choices=STATES, help="the state over [from, to)")
    p.add_argument("--category", choices=CATEGORIES)
    p.add_argument("--revoke", type=_positive, metavar="ID", help="revoke correction ID instead (a new entry)")
    p.add_argument("--reason", required=True, metavar="TEXT")
    p.add_argument("--by", required=True, metavar="NAME", help="who records it")

    p = verb("corrections", "list the corrections ledger", "config", "storage")
    p.add_argument("--month", type=_month, metavar="YYYY-MM", help="only entries that touch this month")
    p.add_argument("--tenant", metavar="T", help="only this tenant's entries")
    p.add_argument("--format", choices=("table", "json"), default="table")

    p = verb("export", "a month's series with timestamps, for promtool tsdb create-blocks-from", "config", "storage")
    p.add_argument("--month", type=_month, required=True, metavar="YYYY-MM")
    p.add_argument("--format", choices=("openmetrics",), required=True)
    p.add_argument("--step", type=_step, default=60_000, metavar="DURATION", help="time between samples (default 1m)")
    p.add_argument("--tenant", metavar="T", help="only this tenant")
    p.add_argument("--output", metavar="FILE", help="write here instead of standard output")

    p = verb(
        "evidence", "write a month's evidence bundle: report, raw history, config, signed manifest", "config", "storage"
    )
    p.add_argument("--month", type=_month, required=True, metavar="YYYY-MM")
    p.add_argument("--tenant", metavar="T", help="only this tenant")
    p.add_argument("--output", required=True, metavar="FILE.tar.gz", help="the bundle to write")
    p.add_argument(
        "--signing-key", dest="signing_key", metavar="KEY", help="Ed25519 private key (PEM): sign the bundle"
    )

    p = verb("verify", "check a store's hash chains (--storage.path DB) or an evidence bundle (FILE.tar.gz)")
    p.add_argument("bundle", nargs="?", metavar="FILE.tar.gz", help="an evidence bundle to check")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--storage.path", dest="storage_path", metavar="DB", help="a store whose hash chains to check")
    where.add_argument("--storage.url", dest="storage_url", type=_pg_url, metavar="URL", help=_STORAGE_URL_HELP)
    p.add_argument(
        "--public-key", dest="public_key", metavar="K", help="Ed25519 public key (PEM): the bundle must be signed by it"
    )

    p = verb("keygen", "create an Ed25519 key pair for signing evidence bundles")
    p.add_argument(
        "--output", required=True, metavar="KEY", help="private key file to create; KEY.pub gets the public key"
    )
    return parser


def _tenants(cfg: Config, name: str | None) -> list[Tenant]:
    if name is None:
        return list(cfg.tenants)
    tenant = cfg.tenant(name)
    if tenant is None:
        known = ", ".join(t.name for t in cfg.tenants)
        raise UserError(f"unknown tenant {name!r} (the config has: {known})")
    return [tenant]


def cmd_check(args: argparse.Namespace, cfg: Config) -> int:
    from exporter.web.api import resolve_token

    problems = config.secret_problems(cfg, os.environ)
    _, token_problem = resolve_token(cfg, os.environ)
    if token_problem:
        problems.append(f"{cfg.source}: {token_problem} (the support API would stay closed)")
    if problems:
        raise UserError("\n".join(problems))
    print(config.summary(cfg))
    return 0


def cmd_windows(args: argparse.Namespace, cfg: Config) -> int:
    if args.date_to < args.date_from:
        raise UserError(f"--to {args.date_to} is before --from {args.date_from}")
    lo, hi = day_bounds(args.date_from, args.date_to, cfg.timezone)
    # Top-level windows once, then each tenant's own ones (Tenant.windows starts with
    # the top-level windows).
    scoped = [("all", w) for w in cfg.windows]
    for tenant in _tenants(cfg, args.tenant):
        scoped += [(tenant.name, w) for w in tenant.windows[len(cfg.windows) :]]
    scope_of = {id(w): s for s, w in scoped}
    found = occurrences([w for _, w in scoped], lo, hi)
    utc = dt.UTC
    rows = [["NAME", "APPLIES TO", "LOCAL START", "LOCAL END", "UTC START", "UTC END", "DURATION"]]
    for o in found:
        rows.append(
            [
                o.window.name,
                scope_of[id(o.window)],
                o.local_start.strftime("%Y-%m-%d %a %H:%M %z"),
                o.local_end.strftime("%Y-%m-%d %a %H:%M %z"),
                dt.datetime.fromtimestamp(o.start, utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                dt.datetime.fromtimestamp(o.end, utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                format_duration(o.end - o.start),
            ]
        )
    print(f"Maintenance windows from {args.date_from} to {args.date_to} (inclusive), {cfg.timezone}")
    if len(rows) == 1:
        print("no windows in this range")
        return 0
    print()
    for line in report._table(rows, right={6}):
        print(line)
    return 0


def cmd_import(args: argparse.Namespace, cfg: Config) -> int:
    name = "<stdin>" if args.file == "-" else args.file
    progress = _Progress(name)
    try:
        handle = sys.stdin if args.file == "-" else open(args.file, newline="", encoding="utf-8")  # noqa: SIM115 - with below
    except OSError as err:
        raise UserError(f"{name}: cannot read: {err.strerror}") from None
    # Beside the store, not /tmp (often memory); beside the current directory for a server.
    spill_dir = os.getcwd() if is_url(args.storage_path) else os.path.dirname(os.path.abspath(args.storage_path))
    try:
        with (
            handle,
            importer.parse(
                handle, cfg, progress.lines, now=time.time(), spill_dir=spill_dir, location=args.location
            ) as obs,
        ):
            progress.lines(None)
            with Store(args.storage_path) as store:
                summary = importer.import_observations(store, cfg, obs, progress.written)
    except importer.ImportError_ as err:
        progress.end()
        raise UserError(
            "\n".join(f"{name}: {p}" for p in err.problems) + f"\n{name}: refused, nothing was imported"
        ) from None
    except UnicodeDecodeError as err:
        progress.end()
        raise UserError(f"{name}: not UTF-8 text ({err.reason})") from None
    progress.end()
    tz = ZoneInfo(cfg.timezone)
    span = (
        ""
        if summary.first is None
        else (f" from {report.rfc3339(summary.first, tz)} to {report.rfc3339(summary.last, tz)}")
    )
    print(
        f"{name}: {summary.rows:,} rows for {summary.probes} probes{span}: "
        f"{summary.result.added:,} new observations, "
        f"{summary.rows - summary.result.added:,} already recorded or repeated; "
        f"{summary.result.series_written:,} series written to {_shown(args.storage_path)}"
    )
    return 0


def cmd_export(args: argparse.Namespace, cfg: Config) -> int:
    from exporter import export

    tenants = _tenants(cfg, args.tenant)
    year, month = args.month
    with Store(args.storage_path, create=False) as store:
        if args.output is None:
            n = export.openmetrics(sys.stdout, cfg, store, year, month, tenants, args.step, now=time.time())
        else:
            partial = args.output + ".partial"  # a failed export leaves no half file behind
            try:
                with open(partial, "w", encoding="utf-8") as out:
                    n = export.openmetrics(out, cfg, store, year, month, tenants, args.step, now=time.time())
                os.replace(partial, args.output)
            except OSError as err:
                with contextlib.suppress(OSError):
                    os.unlink(partial)
                raise UserError(f"{args.output}: cannot write: {err.strerror}") from None
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(partial)
                raise
    print(f"{n:,} samples of {len(tenants)} tenants for {year:04d}-{month:02d}", file=sys.stderr)
    return 0


class _Progress:
    """Progress of an import on stderr: on a terminal one line rewritten in place; else
    (a log, a CI job) a line every few seconds, so that a long import is seen to move."""

    EVERY = 3.0  # seconds between lines when stderr is not a terminal

    def __init__(self, name: str, stream=None, clock=time.monotonic):
        self.name = name
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.clock = clock
        self.began = self.shown = clock()
        if self.tty:
            self.shown -= self.EVERY  # on a terminal the first update shows at once
        self.pending = False  # a terminal line without its newline

    def _show(self, text: str, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self.shown < (0.2 if self.tty else self.EVERY):
            return
        self.shown = now
        text = f"{self.name}: {text} ({now - self.began:.0f} s)"
        if self.tty:
            print(f"\r{text}\033[K", end="", file=self.stream, flush=True)
            self.pending = True
        else:
            print(text, file=self.stream, flush=True)

    def lines(self, n: int | None) -> None:
        """``n`` lines read; None: the file is read and checked."""
        if n is None:
            if self.clock() - self.began >= self.EVERY:
                self._show("read and checked; writing", force=True)
        else:
            self._show(f"{n:,} lines read")

    def written(self, series: int) -> None:
        self._show(f"{series:,} series written")

    def end(self) -> None:
        if self.pending:
            print(file=self.stream)
            self.pending = False


def cmd_report(args: argparse.Namespace, cfg: Config) -> int:
    tenants = _tenants(cfg, args.tenant)
    year, month = args.month
    # A month of a fleet is a million small objects and no cyclic garbage: the collector's
    # full passes over them were a tenth of the command at 10,000 tenants.
    with config.collector_paused(), Store(args.storage_path, create=False) as store:
        if args.format == "html":
            sys.stdout.write(render.html(cfg, store, args.month, args.tenant, time.time()))
            return 0
        doc = report.build(cfg, store, year, month, tenants, now=time.time())
        text = report.FORMATS[args.format](doc)
    sys.stdout.write(text)
    return 0


def cmd_evidence(args: argparse.Namespace, cfg: Config) -> int:
    from exporter import evidence  # cryptography is loaded only by the verbs that sign

    tenants = _tenants(cfg, args.tenant)
    year, month = args.month
    key = evidence.load_private_key(args.signing_key) if args.signing_key else None
    with open(args.config_file, encoding="utf-8") as f:  # config.load read it a moment ago
        text = f.read()
    with Store(args.storage_path, create=False) as store:
        written = evidence.write(args.output, cfg, text, store, year, month, tenants, time.time(), key)
    print(
        f"{written.path}: evidence of {year:04d}-{month:02d} for {', '.join(t.name for t in tenants)}: "
        f"{written.observations:,} observations, {written.files} files and their manifest, "
        f"{'signed' if written.signed else 'not signed'}"
    )
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from exporter import evidence

    if (args.bundle is None) == (args.storage_path is None):
        print(
            "sla-exporter verify: give an evidence bundle FILE.tar.gz or --storage.path DB "
            "or --storage.url URL (one of them)",
            file=sys.stderr,
        )
        return 2
    if args.bundle is None:
        if args.public_key:
            print("sla-exporter verify: --public-key checks a bundle, not a store", file=sys.stderr)
            return 2
        with Store(args.storage_path, create=False) as store:
            broken, probes, records = store.verify_chains()
            if broken is not None:
                raise UserError(f"{_shown(args.storage_path)}: does not verify: {evidence.describe(broken)}")
            problem, entries = store.verify_ledgers()
            if problem is not None:
                raise UserError(f"{_shown(args.storage_path)}: does not verify: {problem}")
        print(
            f"{_shown(args.storage_path)}: OK: {records:,} history records of {probes:,} probes and "
            f"{entries:,} ledger entries verify"
        )
        return 0
    key = evidence.load_public_key(args.public_key) if args.public_key else None
    done = evidence.verify(args.bundle, key, args.public_key or "")
    signature = (
        "signature verified"
        if done.signature_checked
        else ("signed, signature not checked (no --public-key)" if done.signed else "not signed")
    )
    print(
        f"{args.bundle}: OK: {done.files} files match the manifest, {signature}; the report of {done.month} "
        f"({', '.join(done.tenants)}) is reproduced from its history"
    )
    return 0


def cmd_keygen(args: argparse.Namespace) -> int:
    from exporter import evidence

    public = evidence.keygen(args.output)
    print(f"{args.output}: Ed25519 private key (keep it secret); {public}: its public key (give it to verifiers)")
    return 0


class _Usage(Exception):
    """Flags that do not go together: a usage error (exit 2)."""


_CORRECTION_FLAGS = {
    "tenant": "--tenant",
    "time_from": "--from",
    "time_to": "--to",
    "state": "--as",
    "category": "--category",
}


def _ms_of(stamp: dt.datetime, cfg: Config) -> int:
    """An ISO time as ms; without an offset, local time in the config's timezone (fold 0:
    the first of an ambiguous hour, as docs/semantics.md reads local times)."""
    aware = stamp if stamp.tzinfo else stamp.replace(tzinfo=ZoneInfo(cfg.timezone))
    return instant_ms(aware.timestamp())


def cmd_correct(args: argparse.Namespace, cfg: Config) -> int:
    given = [flag for key, flag in _CORRECTION_FLAGS.items() if getattr(args, key) is not None]
    now = instant_ms(time.time())
    if args.revoke is not None:
        if given:
            raise _Usage(f"--revoke takes only --reason and --by, not {', '.join(given)}")
        with Store(args.storage_path, create=False) as store:
            print(ledger.revoke(store, cfg, args.revoke, args.reason, args.by, now))
        return 0
    missing = [flag for key, flag in _CORRECTION_FLAGS.items() if getattr(args, key) is None]
    if missing:
        raise _Usage(f"the following arguments are required (or --revoke ID): {', '.join(missing)}")
    _tenants(cfg, args.tenant)
    start, end = _ms_of(args.time_from, cfg), _ms_of(args.time_to, cfg)
    with Store(args.storage_path, create=False) as store:
        new_id = ledger.correct(
            store, cfg, args.tenant, start, end, args.state, args.category, args.reason, args.by, now
        )
    print(new_id)
    return 0


def cmd_corrections(args: argparse.Namespace, cfg: Config) -> int:
    tz = ZoneInfo(cfg.timezone)
    with Store(args.storage_path, create=False) as store:
        entries = store.ledger(args.tenant)
    if args.month is not None:
        lo, hi = month_bounds_ms(*args.month, cfg.timezone)
        spans = {e.id: (e.start, e.end) for e in entries if e.kind == "correction"}
        entries = [
            e
            for e in entries
            if (span := spans.get(e.revokes if e.kind == "revocation" else e.id)) and span[0] < hi and span[1] > lo  # type: ignore[operator]
        ]
    docs = [ledger.entry_doc(e, tz) for e in entries]
    if args.format == "json":
        print(json.dumps({"corrections": docs}, indent=2))
        return 0
    if not docs:
        print("no corrections")
        return 0
    rows = [["ID", "TENANT", "FROM", "TO", "AS", "CATEGORY", "BY", "RECORDED", "REASON"]]
    for d in docs:
        revocation = d["kind"] == "revocation"
        rows.append(
            [
                str(d["id"]),
                d["tenant"],
                "" if revocation else report._local(d["from"]),
                "" if revocation else report._local(d["to"]),
                f"revokes {d['revokes']}" if revocation else d["as"],
                d["category"] or "",
                d["by"],
                report._local(d["recorded_at"]),
                d["reason"],
            ]
        )
    for line in report._table(rows, right={0}):
        print(line)
    return 0


def cmd_run(args: argparse.Namespace, cfg: Config) -> int:
    from exporter.daemon import (
        Daemon,  # the daemon's imports are not needed by the other verbs
    )

    logs.setup(args.log_format, args.log_level)
    try:
        daemon = Daemon(
            args.config_file,
            args.storage_path,
            args.listen,
            workers=args.workers,
            cfg=cfg,
            web_config_path=args.web_config,
            shard=args.shard,
            location=args.location,
        )
    except OSError as err:  # the listen address is taken or not ours
        raise UserError(f"cannot listen on {args.listen[0]}:{args.listen[1]}: {err.strerror}") from None
    except WebConfigError as err:
        raise UserError(str(err)) from None
    daemon.run_forever()
    return 0


def _number(x: float | None) -> float | int | None:
    return int(x) if x is not None and x == int(x) else x


def cmd_deadlines(args: argparse.Namespace, cfg: Config) -> int:
    support_cfg = cfg.support
    cal = support_cfg.calendar
    zone = ZoneInfo(cal.timezone)
    opened = args.opened if args.opened.tzinfo else args.opened.replace(tzinfo=zone)
    tenant = _tenants(cfg, args.tenant)[0] if args.tenant else None
    t0 = opened.timestamp()

    def when(t: float | None) -> str | None:
        return None if t is None else dt.datetime.fromtimestamp(t, zone).isoformat()

    if args.service_request:
        doc = {"delivery_due": when(support.delivery_due(support_cfg, t0))}
        text = [
            f"Service request opened {when(t0)} ({businesshours.describe(cal)})",
            f"  delivery due:          {doc['delivery_due']}  "
            f"({format_duration(support_cfg.service_request_delivery)} of business time)",
        ]
    else:
        try:
            priority = support.check_priority(support_cfg, tenant, args.priority.upper())
        except support.NotAllowed as err:
            raise UserError(str(err)) from None
        d = support.deadlines(support_cfg, priority, args.defect, t0)
        doc = {
            "initial_response_due": when(d.initial_response_due),
            "next_communication_interval_seconds": _number(d.communication_interval),
            "resolution_due": when(d.resolution_due),
        }
        clock = "24/7" if priority.clock == "24/7" else f"business hours: {businesshours.describe(cal)}"
        every = "none" if d.communication_interval is None else f"every {format_duration(d.communication_interval)}"
        if d.communication_interval and priority.clock == "business":
            every = (
                f"every {d.communication_interval / cal.business_day:g} business days ({every[6:]} of business time)"
            )
        text = [
            f"{priority.name}{' product defect' if args.defect else ''} incident opened {when(t0)} ({clock})",
            f"  initial response due:  {doc['initial_response_due'] or 'none'}",
            f"  ongoing communication: {every}",
            f"  resolution due:        {doc['resolution_due'] or 'none'}",
        ]
    if args.format == "json":
        print(json.dumps(doc))
    else:
        print("\n".join(text))
    return 0


COMMANDS = {
    "run": cmd_run,
    "deadlines": cmd_deadlines,
    "check": cmd_check,
    "windows": cmd_windows,
    "import": cmd_import,
    "report": cmd_report,
    "export": cmd_export,
    "correct": cmd_correct,
    "corrections": cmd_corrections,
    "evidence": cmd_evidence,
}


def cmd_demo(args: argparse.Namespace) -> int:
    from exporter import demo

    logs.setup(args.log_format, args.log_level)
    try:
        return demo.run(args.listen)
    except OSError as err:
        raise UserError(f"cannot listen on {args.listen[0]}:{args.listen[1]}: {err.strerror}") from None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "storage_url", None):  # the store's code takes a path or a URL alike
        args.storage_path = args.storage_url
    try:
        if args.verb == "demo":
            return cmd_demo(args)
        if args.verb in ("verify", "keygen"):  # no config: a bundle carries its own
            return cmd_verify(args) if args.verb == "verify" else cmd_keygen(args)
        # Only the daemon lives long enough to want the config compacted in memory.
        cfg = config.load(args.config_file, compact=args.verb == "run")
        return COMMANDS[args.verb](args, cfg)
    except UserError as err:  # every mistake a user can fix: one line per problem, exit 1
        print(err if err.names_its_source else f"sla-exporter {args.verb}: {err}", file=sys.stderr)
        return 1
    except _Usage as err:
        print(f"sla-exporter {args.verb}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
