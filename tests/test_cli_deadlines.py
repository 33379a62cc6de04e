import json

import pytest

from exporter.cli import main

CONFIG = """
tenants:
  - {name: prod, probes: [{name: p, url: "http://x/"}]}
  - {name: test, environment: non-production, probes: [{name: p, url: "http://x/"}]}
"""


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG)
    return str(path)


@pytest.mark.parametrize(
    "args, expected",
    [
        (
            ["--priority", "P1", "--opened", "2026-12-24T23:30"],
            {
                "initial_response_due": "2026-12-25T00:30:00+02:00",
                "next_communication_interval_seconds": 3600,
                "resolution_due": "2026-12-25T03:30:00+02:00",
            },
        ),
        (
            ["--priority", "P2", "--opened", "2026-10-25T02:30+03:00"],  # 4 h across the DST change
            {
                "initial_response_due": "2026-10-25T05:30:00+02:00",
                "next_communication_interval_seconds": 21600,
                "resolution_due": None,
            },
        ),
        # Thu 16:00-16:30, Midsummer Eve off, Mon 08:00-16:00.
        (
            ["--priority", "p3", "--defect", "--opened", "2026-06-18T16:00+03:00", "--tenant", "test"],
            {
                "initial_response_due": "2026-06-22T16:00:00+03:00",
                "next_communication_interval_seconds": 306000,
                "resolution_due": None,
            },
        ),
        (
            ["--priority", "P4", "--opened", "2026-04-02T12:00Z"],
            {
                "initial_response_due": "2026-04-08T15:00:00+03:00",
                "next_communication_interval_seconds": 153000,
                "resolution_due": None,
            },
        ),
        (["--service-request", "--opened", "2026-12-23T14:00+02:00"], {"delivery_due": "2026-12-30T14:00:00+02:00"}),
    ],
)
def test_deadlines_json(cfg, capsys, args, expected):
    assert main(["deadlines", "--config.file", cfg, "--format", "json", *args]) == 0
    assert json.loads(capsys.readouterr().out) == expected


def test_deadlines_text(cfg, capsys):
    assert main(["deadlines", "--config.file", cfg, "--priority", "P3", "--opened", "2026-11-27T15:00+02:00"]) == 0
    assert capsys.readouterr().out == (
        "P3 incident opened 2026-11-27T15:00:00+02:00 (business hours: Europe/Helsinki, Mon-Fri 08:00-16:30, "
        "FI holidays)\n"
        "  initial response due:  2026-11-30T15:00:00+02:00\n"
        "  ongoing communication: every 3 business days (25h 30m of business time)\n"
        "  resolution due:        none\n"
    )


@pytest.mark.parametrize(
    "args, code, message",
    [
        (
            ["--priority", "P1", "--tenant", "test", "--opened", "2026-11-27T15:00"],
            1,
            "P1 is for production tenants only: the terms allow P1 and P2 incidents only for production tenants, "
            "and tenant 'test' is non-production",
        ),
        (["--priority", "P8", "--opened", "2026-11-27T15:00"], 1, "unknown priority 'P8'"),
        (["--priority", "P1", "--tenant", "nobody", "--opened", "2026-11-27T15:00"], 1, "unknown tenant 'nobody'"),
        (["--priority", "P1", "--opened", "soon"], 2, "expected an ISO 8601 time"),
        (["--priority", "P1", "--service-request", "--opened", "2026-11-27T15:00"], 2, "not allowed with argument"),
        (["--opened", "2026-11-27T15:00"], 2, "one of the arguments --priority --service-request is required"),
    ],
)
def test_deadlines_errors(cfg, capsys, args, code, message):
    with pytest.raises(SystemExit) if code == 2 else _nothing() as exit_info:
        assert main(["deadlines", "--config.file", cfg, *args]) == code
    if code == 2:
        assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False
