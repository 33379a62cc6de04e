"""Evidence bundles (docs/evidence.md) through the real command line: a bundle of the
worked month reproduces its report when re-imported, every kind of tampering is caught
with its message (exit 1), the month in progress and one tenant of several work, and the
history at the month's edges is what re-importing needs to give the same figures."""

import datetime as dt
import io
import json
import subprocess
import sys
import tarfile

import pytest
from hypothesis import given, settings, strategies as st

from exporter import config, evidence, report
from exporter.store import importer
from exporter.store.sqlite import Store
from worked_month import CONFIG, write_month

PREFIX = "sla-evidence-2026-10"


def cli(*args):
    return subprocess.run([sys.executable, "-m", "exporter", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    d = tmp_path_factory.mktemp("evidence")
    (d / "config.yaml").write_text(CONFIG)
    write_month(d / "october.csv")
    db = str(d / "sla.db")
    out = cli("import", "--config.file", str(d / "config.yaml"), "--storage.path", db, str(d / "october.csv"))
    assert out.returncode == 0, out.stderr
    for name in ("key", "other"):
        out = cli("keygen", "--output", str(d / name))
        assert out.returncode == 0, out.stderr
    bundle = d / "october.tar.gz"
    out = evidence_cli(d, db, bundle, "--signing-key", str(d / "key"))
    assert out.returncode == 0, out.stderr
    return d, db, bundle


def evidence_cli(d, db, bundle, *extra):
    return cli(
        "evidence",
        "--config.file",
        str(d / "config.yaml"),
        "--storage.path",
        db,
        "--month",
        "2026-10",
        "--output",
        str(bundle),
        *extra,
    )


def members(path):
    with tarfile.open(path, "r:gz") as tar:
        return {m.name.split("/", 1)[1]: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def repack(files, path):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{PREFIX}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_round_trip_reproduces_the_report(month):
    d, db, bundle = month
    out = cli("verify", str(bundle), "--public-key", str(d / "key.pub"))
    assert out.returncode == 0, out.stderr
    assert out.stdout == (
        f"{bundle}: OK: 5 files match the manifest, signature verified; the report of 2026-10 "
        "(acme-prod, beta-test) is reproduced from its history\n"
    )
    files = members(bundle)
    assert sorted(files) == [
        "config.yaml",
        "corrections.json",
        "history.csv",
        "manifest.json",
        "manifest.sig",
        "report.html",
        "report.json",
    ]
    assert b"<svg" in files["report.html"] and b"acme-prod" in files["report.html"]
    # The bundle's report is the report, and anyone re-importing the CSV gets it again.
    shown = cli(
        "report",
        "--config.file",
        str(d / "config.yaml"),
        "--storage.path",
        db,
        "--month",
        "2026-10",
        "--format",
        "json",
    )
    assert files["report.json"].decode() == shown.stdout
    (d / "again.csv").write_bytes(files["history.csv"])
    (d / "again.yaml").write_bytes(files["config.yaml"])
    again = str(d / "again.db")
    assert (
        cli("import", "--config.file", str(d / "again.yaml"), "--storage.path", again, str(d / "again.csv")).returncode
        == 0
    )
    redone = cli(
        "report",
        "--config.file",
        str(d / "again.yaml"),
        "--storage.path",
        again,
        "--month",
        "2026-10",
        "--format",
        "json",
    )
    assert redone.stdout == shown.stdout
    manifest = json.loads(files["manifest.json"])
    assert (manifest["month"], manifest["tenants"], manifest["complete"]) == (
        "2026-10",
        ["acme-prod", "beta-test"],
        True,
    )
    assert json.loads(files["corrections.json"]) == []
    # The chain heads are the store's.
    with Store(db) as store:
        heads = {(h.tenant, h.probe): h.head for h in store.chain_heads()}
    assert {(c["tenant"], c["probe"]): c["head"] for c in manifest["chains"]} == heads
    assert len(heads) == 4


def test_an_unsigned_bundle_verifies_without_a_key_and_is_refused_with_one(month, tmp_path):
    d, db, _ = month
    bundle = tmp_path / "unsigned.tar.gz"
    assert evidence_cli(d, db, bundle).returncode == 0
    out = cli("verify", str(bundle))
    assert out.returncode == 0, out.stderr
    assert "5 files match the manifest, not signed;" in out.stdout
    out = cli("verify", str(bundle), "--public-key", str(d / "key.pub"))
    assert out.returncode == 1
    assert out.stderr == (
        f"sla-exporter verify: {bundle}: the bundle is not signed (manifest.sig missing): "
        "refused, --public-key was given\n"
    )


def _flip_history(files):
    # One observation of the outage on the 5th reported as a success instead.
    rows = files["history.csv"].decode().splitlines(keepends=True)
    i = next(i for i, r in enumerate(rows) if r.startswith("2026-10-05T07:05:00Z,acme-prod,api,0"))
    rows[i] = rows[i].replace(",0\n", ",1\n")
    files["history.csv"] = "".join(rows).encode()


def _doctor_report(files):
    doc = json.loads(files["report.json"])
    doc["tenants"][0]["availability"] = 0.9999
    doc["tenants"][0]["met"] = True
    files["report.json"] = report.to_json(doc).encode()


def _resum(files, *names):
    manifest = json.loads(files["manifest.json"])
    import hashlib

    for name in names:
        manifest["files"][name] = hashlib.sha256(files[name]).hexdigest()
    files["manifest.json"] = (json.dumps(manifest, indent=2) + "\n").encode()


def _other_signature(d):
    def sign(files):
        key = evidence.load_private_key(str(d / "other"))
        files["manifest.sig"] = key.sign(files["manifest.json"])

    return sign


ELIGIBLE, UNKNOWN, DOWNTIME = 2_635_200, 3540, 4200  # acme-prod's worked month (test_cli_end_to_end.py)
AVAILABILITY = (ELIGIBLE - UNKNOWN - DOWNTIME) / (ELIGIBLE - UNKNOWN)
FLIPPED = (ELIGIBLE - UNKNOWN - DOWNTIME + 60) / (ELIGIBLE - UNKNOWN)  # one minute of the outage less
CHANGED = "SHA-256 does not match manifest.json (the file was changed)"


@pytest.mark.parametrize(
    "tamper, with_key, messages",
    [
        pytest.param(_doctor_report, False, [f"report.json: {CHANGED}"], id="report changed"),
        pytest.param(_flip_history, True, [f"history.csv: {CHANGED}"], id="history changed"),
        pytest.param(
            lambda f: f.update({"config.yaml": f["config.yaml"].replace(b"99.92%", b"99.5%")}),
            False,
            [f"config.yaml: {CHANGED}"],
            id="config changed",
        ),
        pytest.param(
            lambda f: f.update({"notes.txt": b"trust me\n"}),
            True,
            ["notes.txt: not listed in manifest.json (added to the bundle)"],
            id="file added",
        ),
        pytest.param(
            lambda f: f.pop("history.csv"),
            False,
            ["history.csv: listed in manifest.json, missing from the bundle"],
            id="file removed",
        ),
        pytest.param(lambda f: f.pop("manifest.json"), False, ["manifest.json: missing"], id="manifest removed"),
        pytest.param(
            lambda f: (_flip_history(f), _resum(f, "history.csv")),
            True,
            [
                "manifest.sig: the signature does not verify with {d}/key.pub "
                "(signed with another key, or manifest.json was changed)"
            ],
            id="history and manifest edited, signed",
        ),
        pytest.param(
            lambda f: (_flip_history(f), _resum(f, "history.csv")),
            False,
            [
                "report.json is not reproduced by re-importing history.csv: tenants[0].availability is "
                f"{AVAILABILITY!r} in the bundle, {FLIPPED!r} re-computed"
            ],
            id="history and manifest edited, no key: the report does not reproduce",
        ),
        pytest.param(
            lambda f: (_doctor_report(f), _resum(f, "report.json")),
            False,
            [
                "report.json is not reproduced by re-importing history.csv: tenants[0].availability is "
                f"0.9999 in the bundle, {AVAILABILITY!r} re-computed"
            ],
            id="report and manifest edited, no key",
        ),
        pytest.param(
            lambda f: f.pop("manifest.sig"),
            True,
            ["the bundle is not signed (manifest.sig missing): refused, --public-key was given"],
            id="signature removed",
        ),
        pytest.param(
            "other",
            True,
            [
                "manifest.sig: the signature does not verify with {d}/key.pub "
                "(signed with another key, or manifest.json was changed)"
            ],
            id="signed with another key",
        ),
        pytest.param(
            lambda f: f.update({"manifest.json": b"{not json"}),
            False,
            ["manifest.json: not an evidence manifest (sla-exporter-evidence/1)"],
            id="manifest not json",
        ),
    ],
)
def test_tampering_is_caught(month, tmp_path, tamper, with_key, messages):
    d, _, bundle = month
    files = members(bundle)
    (_other_signature(d) if tamper == "other" else tamper)(files)
    bad = tmp_path / "bad.tar.gz"
    repack(files, bad)
    out = cli("verify", str(bad), *(["--public-key", str(d / "key.pub")] if with_key else []))
    assert out.returncode == 1
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    expected = [f"{bad}: {m.format(d=d)}" for m in messages]
    expected[0] = "sla-exporter verify: " + expected[0]
    assert lines == expected


def test_not_a_bundle(tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_text("time,tenant,probe,success\n")
    out = cli("verify", str(junk))
    assert out.returncode == 1
    assert out.stderr.startswith(f"sla-exporter verify: {junk}: not an evidence bundle (a .tar.gz):")


def test_one_tenant_of_several(month, tmp_path):
    d, db, _ = month
    bundle = tmp_path / "beta.tar.gz"
    out = evidence_cli(d, db, bundle, "--tenant", "beta-test", "--signing-key", str(d / "key"))
    assert out.returncode == 0, out.stderr
    assert "evidence of 2026-10 for beta-test:" in out.stdout
    files = members(bundle)
    doc = json.loads(files["report.json"])
    assert [t["tenant"] for t in doc["tenants"]] == ["beta-test"]
    manifest = json.loads(files["manifest.json"])
    assert manifest["tenants"] == ["beta-test"]
    assert {(c["tenant"], c["probe"]) for c in manifest["chains"]} == {("beta-test", "x"), ("beta-test", "y")}
    rows = files["history.csv"].decode().splitlines()[1:]
    assert {r.split(",")[1] for r in rows} == {"beta-test"}
    out = cli("verify", str(bundle), "--public-key", str(d / "key.pub"))
    assert out.returncode == 0, out.stderr
    assert "(beta-test) is reproduced" in out.stdout


def test_evidence_usage(month, tmp_path):
    d, db, _ = month
    cases = [
        (["--tenant", "nobody"], "unknown tenant 'nobody' (the config has: acme-prod, beta-test)"),
        (["--signing-key", str(d / "key.pub")], f"{d}/key.pub: not an unencrypted PEM private key"),
        (["--signing-key", str(tmp_path / "none")], f"{tmp_path}/none: cannot read: No such file or directory"),
    ]
    out = cli(
        "evidence",
        "--config.file",
        str(d / "config.yaml"),
        "--storage.path",
        db,
        "--month",
        "2999-01",
        "--output",
        str(tmp_path / "x.tar.gz"),
    )
    assert (out.returncode, out.stderr) == (1, "sla-exporter evidence: 2999-01 has not begun\n")
    for extra, message in cases:
        out = evidence_cli(d, db, tmp_path / "x.tar.gz", *extra)
        assert (out.returncode, len(out.stderr.splitlines())) == (1, 1), out.stderr
        assert message in out.stderr
    assert not (tmp_path / "x.tar.gz").exists()


def test_evidence_is_refused_from_a_store_that_does_not_verify(month, tmp_path):
    d, db, _ = month
    import sqlite3

    copy = str(tmp_path / "copy.db")
    with Store(db) as store:  # a consistent copy (WAL)
        store.db.execute("VACUUM INTO ?", (copy,))
    con = sqlite3.connect(copy)
    with con:
        con.execute("UPDATE series SET success = 1 WHERE success = 0")  # every outage gone
    con.close()
    out = evidence_cli(d, copy, tmp_path / "x.tar.gz")
    assert out.returncode == 1
    assert (
        f"sla-exporter evidence: {copy}: refused, the store does not verify: "
        "tenant acme-prod, probe api, record starting" in out.stderr
    )
    assert not (tmp_path / "x.tar.gz").exists()


def test_keygen_does_not_overwrite(month):
    d, _, _ = month
    out = cli("keygen", "--output", str(d / "key"))
    assert (out.returncode, out.stderr) == (1, f"sla-exporter keygen: {d}/key: exists, not overwritten\n")


# -- the edges of the month and the month in progress (in process: "now" is an argument) ------

EDGES = """\
timezone: Europe/Helsinki
sla: {target: 99.9%}
tenants:
  - name: edge
    probes:
      - {name: p, url: "https://edge.example/", interval: 60s, failure_threshold: 3}
      - {name: q, url: "https://edge.example/q", interval: 60s}
"""
START = dt.datetime(2026, 9, 30, 21, tzinfo=dt.UTC)  # 2026-10-01T00:00+03:00
END = dt.datetime(2026, 10, 31, 22, tzinfo=dt.UTC)  # 2026-11-01T00:00+02:00


def edge_rows():
    """Minutes from 2 days before the month to 2 days after. p fails from 20:58Z before the
    month into its first minute (3 failures: down at the start only with the 2 before it),
    again in its last minute and after it (down only with the 2 after it), and for a whole
    day before the month (a long run of which only the last failures matter); q has a
    30-minute monitor gap across the start."""
    t = START - dt.timedelta(days=2)
    while t < END + dt.timedelta(days=2):
        minute = (t - START) // dt.timedelta(minutes=1)
        end_minute = (t - END) // dt.timedelta(minutes=1)
        p_fails = -2 <= minute <= 0 or -1 <= end_minute <= 1 or -2880 <= minute < -1440
        yield t, "p", not p_fails
        if not -20 <= minute < 10:
            yield t, "q", True
        t += dt.timedelta(minutes=1)


@pytest.fixture(scope="module")
def edges(tmp_path_factory):
    d = tmp_path_factory.mktemp("edges")
    (d / "config.yaml").write_text(EDGES)
    lines = ["time,tenant,probe,success"] + [
        f"{t.strftime('%Y-%m-%dT%H:%M:%SZ')},edge,{p},{int(ok)}" for t, p, ok in edge_rows()
    ]
    (d / "edges.csv").write_text("\n".join(lines) + "\n")
    cfg = config.load(str(d / "config.yaml"))
    db = str(d / "edges.db")
    with open(d / "edges.csv") as f, importer.parse(f, cfg) as obs, Store(db) as store:
        importer.import_observations(store, cfg, obs)
    return d, cfg, db


@pytest.mark.parametrize(
    "now, complete, last_row",
    [
        pytest.param(END + dt.timedelta(days=40), True, "2026-10-31T22:01:00Z,edge,p,0", id="closed month"),
        pytest.param(
            START + dt.timedelta(days=10, seconds=90.5), False, "2026-10-10T21:01:00Z,edge,q,1", id="in progress"
        ),
        pytest.param(START + dt.timedelta(seconds=30), False, "2026-09-30T21:00:00Z,edge,p,0", id="its first minute"),
    ],
)
def test_edges_and_the_month_in_progress(edges, tmp_path, now, complete, last_row):
    d, cfg, db = edges
    bundle = str(tmp_path / "b.tar.gz")
    with Store(db) as store:
        evidence.write(
            bundle, cfg, (d / "config.yaml").read_text(), store, 2026, 10, list(cfg.tenants), now.timestamp()
        )
    files = members(bundle)
    doc = json.loads(files["report.json"])
    assert doc["complete"] is complete
    manifest = json.loads(files["manifest.json"])
    until = min(now, END)
    assert manifest["until_ms"] == round(until.timestamp() * 1000)
    rows = files["history.csv"].decode().splitlines()
    assert rows[0] == "time,tenant,probe,success"
    p_rows = [r for r in rows[1:] if ",p," in r]
    # Before the month: p's failing run that crosses the start (it has the threshold's count
    # with the month's first failure: nothing earlier changes how it reads), q's last one
    # before its gap (whether it still holds at the start); none at or after "now".
    assert p_rows[:2] == ["2026-09-30T20:58:00Z,edge,p,0", "2026-09-30T20:59:00Z,edge,p,0"]
    assert [r for r in rows if r < "2026-09-30T21" and ",q," in r] == ["2026-09-30T20:39:00Z,edge,q,1"]
    assert max(rows[1:], key=lambda r: r.split(",")[0]).split(",")[0] == last_row.split(",")[0]
    assert last_row in rows
    # The edges count as down (they need the rows around the month), and it reproduces.
    if complete:
        assert doc["tenants"][0]["downtime_seconds"] == 120  # the first and the last minute
    assert evidence.verify(bundle).month == "2026-10"


def test_without_the_rows_before_the_month_the_report_does_not_reproduce(edges, tmp_path):
    """The look-back rows are needed: p's failures before the month make its first minute down."""
    _, cfg, db = edges
    bundle = tmp_path / "b.tar.gz"
    with Store(db) as store:
        evidence.write(
            str(bundle), cfg, EDGES, store, 2026, 10, list(cfg.tenants), (END + dt.timedelta(days=40)).timestamp()
        )
    files = members(bundle)
    rows = files["history.csv"].decode().splitlines(keepends=True)
    files["history.csv"] = "".join(r for r in rows if not r.startswith("2026-09-30T20:")).encode()
    _resum(files, "history.csv")
    repack(files, bundle)
    with pytest.raises(evidence.EvidenceError, match=r"tenants\[0\]\.availability is .* in the bundle, .* re-computed"):
        evidence.verify(str(bundle))


def test_corrections_travel_with_the_bundle(month, tmp_path):
    """The tenants' ledger entries are in the bundle and restored in the scratch store: the
    corrected figures are reproduced, and a doctored correction is caught."""
    from exporter.model import LedgerEntry

    d, db, _ = month
    copy = str(tmp_path / "corrected.db")
    with Store(db) as store:
        store.db.execute("VACUUM INTO ?", (copy,))
    outage = int(dt.datetime(2026, 10, 5, 7, tzinfo=dt.UTC).timestamp() * 1000)  # 10:00 EEST, acme-prod api
    recorded = outage + 86_400_000
    with Store(copy) as store:  # in process: the ledger's max age would depend on today's date
        store.add_correction(
            LedgerEntry(
                0,
                "correction",
                "acme-prod",
                "probe bug",
                "ops",
                recorded,
                outage,
                outage + 600_000,
                "up",
                "false-positive",
            )
        )
        store.add_correction(
            LedgerEntry(
                0, "correction", "beta-test", "typo", "ops", recorded + 1, outage, outage + 60_000, "down", "other"
            )
        )
        store.revoke_correction(2, "entered by mistake", "ops", recorded + 2)
    bundle = tmp_path / "corrected.tar.gz"
    assert evidence_cli(d, copy, bundle).returncode == 0
    files = members(bundle)
    entries = json.loads(files["corrections.json"])
    assert [(e["id"], e["kind"], e["tenant"]) for e in entries] == [
        (1, "correction", "acme-prod"),
        (2, "correction", "beta-test"),
        (3, "revocation", "beta-test"),
    ]
    acme = json.loads(files["report.json"])["tenants"][0]
    assert acme["downtime_seconds"] == acme["measured"]["downtime_seconds"] - 600
    assert [c["id"] for c in acme["corrections"]] == [1]
    out = cli("verify", str(bundle))
    assert out.returncode == 0, out.stderr
    # One tenant: only its entries.
    beta = tmp_path / "beta.tar.gz"
    assert evidence_cli(d, copy, beta, "--tenant", "beta-test").returncode == 0
    assert [e["id"] for e in json.loads(members(beta)["corrections.json"])] == [2, 3]
    assert cli("verify", str(beta)).returncode == 0
    # A correction doctored (and the manifest's sum with it): the report is not reproduced.
    entries[0]["to"] = entries[0]["to"].replace("10:10:00", "10:05:00")
    assert entries[0]["to"] == "2026-10-05T10:05:00+03:00"
    files["corrections.json"] = (json.dumps(entries, indent=2) + "\n").encode()
    _resum(files, "corrections.json")
    bad = tmp_path / "bad.tar.gz"
    repack(files, bad)
    out = cli("verify", str(bad))
    assert out.returncode == 1
    assert "report.json is not reproduced by re-importing history.csv: tenants[0].availability is" in out.stderr


def test_a_bundle_whose_config_names_a_ca_file_verifies_without_it(tmp_path):
    """The CA file is the probing machine's; counting does not read it, so verifying a
    bundle elsewhere does not need it."""
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    text = EDGES.replace('url: "https://edge.example/q", ', 'url: "https://edge.example/q", ca_file: ca.pem, ')
    assert "ca_file" in text
    (tmp_path / "config.yaml").write_text(text)
    cfg = config.load(str(tmp_path / "config.yaml"))
    bundle = str(tmp_path / "b.tar.gz")
    with Store(str(tmp_path / "s.db")) as store:
        store.merge({("edge", "q"): [(round(START.timestamp() * 1000) + 60_000 * i, True) for i in range(10)]})
        evidence.write(bundle, cfg, text, store, 2026, 10, list(cfg.tenants), (END.timestamp() + 86400 * 40))
    (tmp_path / "ca.pem").unlink()  # verified away from the machine that probed
    assert evidence.verify(bundle).month == "2026-10"


def test_literal_header_values_stay_out_of_the_bundle(tmp_path):
    """A header value written in the config is a credential: the bundle's config.yaml has
    it redacted (an {env: VAR} reference names no secret and stays), and still verifies."""
    text = EDGES.replace(
        'url: "https://edge.example/q", ',
        'url: "https://edge.example/q", headers: {Authorization: "Bearer s3cr3t", X-Ref: {env: EDGE_TOKEN}}, ',
    )
    assert "s3cr3t" in text
    (tmp_path / "config.yaml").write_text(text)
    cfg = config.load(str(tmp_path / "config.yaml"))
    bundle = str(tmp_path / "b.tar.gz")
    with Store(str(tmp_path / "s.db")) as store:
        store.merge({("edge", "q"): [(round(START.timestamp() * 1000) + 60_000 * i, True) for i in range(10)]})
        evidence.write(bundle, cfg, text, store, 2026, 10, list(cfg.tenants), (END.timestamp() + 86400 * 40))
    written = members(bundle)["config.yaml"].decode()
    assert "s3cr3t" not in written
    assert 'headers: {Authorization: "<redacted>", X-Ref: {env: EDGE_TOKEN}}' in written
    assert evidence.verify(bundle).month == "2026-10"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("headers:\n  A: Bearer x\n  B: 'q:\"y'\nk: 1\n", 'headers:\n  A: "<redacted>"\n  B: "<redacted>"\nk: 1\n'),
        ("headers: {A: x, B: {env: V}}\n", 'headers: {A: "<redacted>", B: {env: V}}\n'),
        # a block scalar keeps its line breaks; the next key stays where it was
        (
            "headers:\n  A: |\n    one\n    two\n\n  B: >-\n    f\nk: 1\n",
            'headers:\n  A: "<redacted>"\n\n  B: "<redacted>"\nk: 1\n',
        ),
        # an anchor's values are redacted once, its aliases follow
        (
            "d: &h {A: s}\np: {headers: *h}\nq:\n  headers: *h\n",
            'd: &h {A: "<redacted>"}\np: {headers: *h}\nq:\n  headers: *h\n',
        ),
        ("d:\n  headers: &h {A: s}\np: {headers: *h}\n", 'd:\n  headers: &h {A: "<redacted>"}\np: {headers: *h}\n'),
        ("url: https://u:p@h/\nname: headers\n", "url: https://u:p@h/\nname: headers\n"),  # no headers key: unchanged
    ],
)
def test_redact_header_values(text, expected):
    from exporter.config.redact import redact_header_values

    assert redact_header_values(text) == expected


@settings(max_examples=200, deadline=None)
@given(
    values=st.dictionaries(
        st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,8}", fullmatch=True),
        st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30),
        min_size=1,
        max_size=4,
    ),
    style=st.sampled_from([None, '"', "'", "|", ">"]),
    flow=st.booleans(),
)
def test_redacted_header_values_parse_to_the_same_config_without_them(values, style, flow):
    """Whatever the values and however YAML writes them, the redacted text reads as the
    same document with each literal header value replaced, and nothing else."""
    import yaml

    from exporter.config.redact import REDACTED, redact_header_values

    doc = {"tenants": [{"name": "a", "probes": [{"name": "p", "headers": values, "interval": "30s"}]}]}
    text = yaml.safe_dump(doc, default_style=style, default_flow_style=flow, allow_unicode=True)
    redacted = yaml.safe_load(redact_header_values(text))
    doc["tenants"][0]["probes"][0]["headers"] = dict.fromkeys(values, REDACTED)
    assert redacted == doc
