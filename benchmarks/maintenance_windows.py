"""Maintenance-window expansion speed: prints figures, asserts nothing.

    .venv/bin/python benchmarks/maintenance_windows.py

Times ``maintenance_ms``, the expansion the availability calculation uses (integer ms).
"""

import datetime as dt
import time

from exporter.engine import maintenance
from exporter.engine.maintenance import maintenance_ms, validate_rrule
from exporter.engine.months import month_bounds_ms
from exporter.model import Window

HEL = "Europe/Helsinki"
WINDOWS = [
    Window("weekly", dt.time(2), 7200, HEL, rrule="FREQ=WEEKLY;BYDAY=SU"),
    Window("quarterly", dt.time(22), 6 * 3600, HEL, rrule="FREQ=MONTHLY;BYMONTH=1,4,7,10;BYDAY=1SA"),
    Window("announced", dt.time(23), 7200, HEL, date=dt.date(2026, 9, 30)),
]


def timed(fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    cold = []
    for m in range(1, 13):
        lo, hi = month_bounds_ms(2026, m, HEL)

        def expand_cold(lo=lo, hi=hi):
            maintenance._compile.cache_clear()
            maintenance._days.cache_clear()
            maintenance_ms(WINDOWS, lo, hi)

        cold.append(timed(expand_cold, 5))
    lo, hi = month_bounds_ms(2026, 10, HEL)
    warm = timed(lambda: maintenance_ms(WINDOWS, lo, hi), 200)
    never = timed(lambda: (maintenance._compile.cache_clear(), _refused("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30")), 3)
    print(f"month expansion, cold caches: best {min(cold) * 1e3:.3f} ms, worst {max(cold) * 1e3:.3f} ms")
    print(f"month expansion, warm caches: {warm * 1e6:.1f} us")
    print(f"refusing a rule that never matches: {never * 1e3:.1f} ms")


def _refused(rule):
    try:
        validate_rrule(rule)
    except ValueError:
        return
    raise AssertionError("rule accepted")


if __name__ == "__main__":
    main()
