"""Every config mistake of the hardening list, as a user meets it: `sla-exporter check`
exits 1 with one line per problem naming the key path and line, and no traceback."""

import pytest

from exporter.cli import main

GOOD_PROBE = '{name: p, url: "https://x.example.com/"}'


def tenant(extra="", probes=GOOD_PROBE, name="acme"):
    return f"tenants:\n  - name: {name}\n    probes: [{probes}]\n{extra}"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("timezone: Europe/Helsinky\n" + tenant(), "c.yaml:1: timezone: unknown timezone 'Europe/Helsinky'"),
        (
            "maintenance_windows:\n  - {name: w, rrule: 'FREQ=WEEKLY;BYDAY=XX', start: '02:00', duration: 2h}\n"
            + tenant(),
            "c.yaml:2: maintenance_windows[0].rrule: invalid rrule:",
        ),
        (
            "maintenance_windows:\n  - {name: w, date: 2026-10-01, start: '02:00', duration: 0s}\n" + tenant(),
            "c.yaml:2: maintenance_windows[0].duration: must be greater than 0, got '0s'",
        ),
        (
            tenant(probes='{name: p, url: "https://x/", interval: 0s}'),
            "c.yaml:3: tenants[0].probes[0].interval: must be at least 1s",
        ),
        (
            tenant(probes='{name: p, url: "https://x/", interval: -5s}'),
            "c.yaml:3: tenants[0].probes[0].interval: expected a duration such as 30s, 2h or 1h30m, got '-5s'",
        ),
        ("sla: {target: 0%}\n" + tenant(), "c.yaml:1: sla.target: must lie strictly between 0% and 100%, got '0%'"),
        ("sla: {target: 100%}\n" + tenant(), "c.yaml:1: sla.target: must lie strictly between 0% and 100%"),
        (
            tenant() + "  - name: acme\n    probes: [" + GOOD_PROBE + "]\n",
            "c.yaml:4: tenants[1].name: duplicate tenant name 'acme' (first at line 2)",
        ),
        (
            tenant(probes=GOOD_PROBE + ", " + GOOD_PROBE),
            "c.yaml:3: tenants[0].probes[1].name: duplicate probe name 'p' (first at line 3)",
        ),
        (
            tenant(probes='{name: p, url: "ftp://x.example.com/"}'),
            "c.yaml:3: tenants[0].probes[0].url: invalid URL 'ftp://x.example.com/': expected http:// or https://",
        ),
        (
            tenant(probes='{name: p, url: "https://user:hunter2@/"}'),
            "c.yaml:3: tenants[0].probes[0].url: invalid URL 'https://***@/'",
        ),
        (
            tenant(probes='{name: p, url: "https://user:hunter2 #1@x.example.com/"}'),
            "c.yaml:3: tenants[0].probes[0].url: invalid URL 'https://***@x.example.com/'",
        ),
        (tenant() + "colour: blue\n", "c.yaml:4: colour: unknown key 'colour'"),
        ("tenants: [\n", "c.yaml:2: "),
        ("", "c.yaml: file is empty: expected a mapping with at least `tenants`"),
        ("tenants:\n  - name: acme\n    probes: []\n", "c.yaml:3: tenants[0].probes: tenant has no probes"),
        (
            tenant() + "support: {production_only: [P3]}\n",
            "c.yaml:4: support.production_only: must include P1 and P2: the terms allow P1 and P2 incidents only for "
            "production tenants",
        ),
    ],
)
def test_each_mistake_has_one_clear_line(tmp_path, capsys, text, expected):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert main(["check", "--config.file", str(path)]) == 1
    err = capsys.readouterr().err.replace(str(tmp_path) + "/", "")
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(expected)
    assert "Traceback" not in err and "hunter2" not in err


@pytest.mark.parametrize("argv", [[], ["run"], ["demo"], ["check"], ["windows"], ["import"], ["deadlines"], ["report"]])
def test_every_verb_has_help(capsys, argv):
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("usage: sla-exporter")


def test_shared_flags_reach_the_verbs():
    """--config.file, --storage.path, --web.listen-address and --log.* are declared once (parent parsers)."""
    from exporter.cli import build_parser

    args = build_parser().parse_args(
        ["report", "--config.file", "c.yaml", "--storage.path", "s.db", "--month", "2026-10"]
    )
    assert (args.config_file, args.storage_path, args.month) == ("c.yaml", "s.db", (2026, 10))
    args = build_parser().parse_args(["demo", "--web.listen-address", "127.0.0.1:0", "--log.level", "debug"])
    assert (args.listen, args.log_level, args.log_format) == (("127.0.0.1", 0), "debug", "logfmt")
