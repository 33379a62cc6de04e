"""Service credits: the credit owed for a month from the tiers in ``sla.credits``. Pure.

A tier ``{below: 99.5%, credit: 10%}`` applies when availability is below 99.5 %; of the
tiers that apply, the one with the lowest ``below`` gives the credit. A month that meets
its target owes nothing, whatever the tiers say; a month with no known time owes an
unknown credit (None). Decided exactly on the millisecond figures, like ``met``.
"""

from __future__ import annotations

from decimal import Decimal

from exporter.engine.availability import Figures
from exporter.model import CreditTier


def credit_ratio(f: Figures, tiers: tuple[CreditTier, ...]) -> float | None:
    known = f.eligible - f.unknown
    if f.met is None or known <= 0:
        return None
    if f.met:
        return 0.0
    good = Decimal(known - f.downtime)
    owed = 0.0
    for tier in sorted(tiers, key=lambda t: t.below, reverse=True):
        if good < Decimal(repr(tier.below)) * known:
            owed = tier.credit
    return owed
