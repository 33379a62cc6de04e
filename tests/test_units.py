import contextlib
import re

import pytest
from hypothesis import given, strategies as st

from exporter.engine.units import format_duration, format_percent, parse_duration, parse_duration_ms, parse_target


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("30s", 30),
        ("2h", 7200),
        ("1h30m", 5400),
        ("90m", 5400),
        ("1d", 86400),
        ("1w", 604800),
        ("500ms", 0.5),
        ("1.5s", 1.5),
        ("1h0m5s", 3605),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "a, b, ms",
    [
        # Issue 11: durations are exact milliseconds, however they are written.
        ("1m1.096s", "61.096s", 61_096),
        ("1s128ms", "1.128s", 1_128),
        ("61s96ms", "1m1.096s", 61_096),
        ("2.2s", "2s200ms", 2_200),
        ("0.1s", "100ms", 100),
        ("1.500s", "1s500ms", 1_500),
    ],
)
def test_durations_are_exact_milliseconds(a, b, ms):
    assert parse_duration_ms(a) == parse_duration_ms(b) == ms
    assert parse_duration(a) == parse_duration(b) == ms / 1000


def test_a_fraction_finer_than_a_millisecond_is_refused():
    with pytest.raises(ValueError, match=re.escape("expected a duration in whole milliseconds at most, got '1.0005s'")):
        parse_duration_ms("1.0005s")


@given(st.integers(0, 10**7), st.integers(0, 999))
def test_seconds_with_a_fraction_parse_to_the_same_milliseconds_as_s_and_ms(whole, frac):
    assert parse_duration_ms(f"{whole}.{frac:03d}s") == parse_duration_ms(f"{whole}s{frac}ms") == whole * 1000 + frac


@pytest.mark.parametrize("text", ["", "30", "s", "1m1h", "2 h", "-5s", "1.5h", 30, None, "1hh"])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError, match="expected a duration such as 30s, 2h or 1h30m"):
        parse_duration(text)


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "0s"), (59.6, "1m"), (5400, "1h 30m"), (3605, "1h 5s"), (-2091.84, "-34m 52s"), (2_635_200, "732h")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    "value, ratio",
    [("99.92%", 0.9992), (0.9992, 0.9992), ("0.9992", 0.9992), ("99.5 %", 0.995), ("50%", 0.5)],
)
def test_parse_target(value, ratio):
    assert parse_target(value) == ratio


@pytest.mark.parametrize(
    "value, message",
    [
        ("0%", "must lie strictly between 0% and 100%, got '0%'"),
        ("100%", "must lie strictly between 0% and 100%, got '100%'"),
        ("120%", "must lie strictly between 0% and 100%, got '120%'"),
        (99.92, "must lie strictly between 0% and 100%, got 99.92 (write percentages with a % sign)"),
        ("1e-999", "must lie strictly between 0% and 100%"),
        ("nan", "expected a target such as 99.92% or 0.9992, got 'nan'"),
        ("high", "expected a target such as 99.92% or 0.9992"),
        (True, "expected a target such as 99.92% or 0.9992"),
        ([1], "expected a target such as 99.92% or 0.9992"),
    ],
)
def test_parse_target_refuses(value, message):
    with pytest.raises(ValueError) as err:
        parse_target(value)
    assert str(err.value).startswith(message)


@given(st.one_of(st.text(max_size=12), st.floats(), st.integers(), st.none()))
def test_parsers_raise_only_value_error(value):
    for parse in (parse_target, parse_duration):
        with contextlib.suppress(ValueError):
            parse(value)


def test_format_percent():
    assert (format_percent(0.9992), format_percent(None), format_percent(1.0)) == ("99.920%", "n/a", "100.000%")
