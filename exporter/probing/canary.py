"""Connectivity canaries: is our own network up? (``monitor.canaries`` in the config.)

When a probe fails in a way our network could cause (timeout, connection, DNS, TLS), the
daemon asks the canaries - URLs that answer whenever our network works, such as another
provider's health page. While every one of them fails, the failure is ours (``network``):
the time is unknown, never the vendor's downtime. The verdict is asked on demand and kept
for a few seconds, so a fleet failing at once costs one round of canary requests.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from exporter.model import Monitor, Probe

VERDICT_TTL = 5.0  # seconds a verdict is reused
# Failures that say nothing about the vendor if our own network is down.
NETWORK_SENSITIVE = frozenset({"timeout", "connection", "dns", "tls"})


class Connectivity:
    def __init__(
        self,
        prober,
        monitor: Monitor,
        clock: Callable[[], float] = time.monotonic,
        on_verdict: Callable[[bool], None] | None = None,
    ):
        self.prober, self.clock, self.on_verdict = prober, clock, on_verdict
        self.configure(monitor)
        self._lock = threading.Lock()
        self._verdict: tuple[float, bool] | None = None
        self._round: asyncio.Future[bool] | None = None  # the round under way (event loop)

    def configure(self, monitor: Monitor) -> None:
        self.canaries = tuple(
            Probe(name=f"canary-{i}", url=url, timeout=monitor.canary_timeout) for i, url in enumerate(monitor.canaries)
        )
        self._verdict = None
        self._round = None

    def network_up(self) -> bool | None:
        """True while any canary answers, False while none does, None without canaries.
        Callers wait for one round of canary requests at most."""
        if not self.canaries:
            return None
        with self._lock:  # one round at a time; the others wait for its verdict
            now = self.clock()
            if self._verdict is not None and now - self._verdict[0] < VERDICT_TTL:
                return self._verdict[1]
            up = any(self.prober.probe(canary).success for canary in self.canaries)  # stops at the first answer
            self._verdict = (self.clock(), up)
        if self.on_verdict is not None:
            self.on_verdict(up)
        return up

    async def network_up_async(self) -> bool | None:
        """``network_up`` for runs on the prober's event loop: the canaries are probed there
        too, and runs that ask while a round is under way await that round's verdict."""
        if not self.canaries:
            return None
        now = self.clock()
        verdict = self._verdict
        if verdict is not None and now - verdict[0] < VERDICT_TTL:
            return verdict[1]
        if self._round is None or self._round.done():
            self._round = asyncio.ensure_future(self._ask())
        return await asyncio.shield(self._round)

    async def _ask(self) -> bool:
        up = False
        for canary in self.canaries:  # stops at the first answer
            if (await self.prober.run(canary)).success:
                up = True
                break
        self._verdict = (self.clock(), up)
        if self.on_verdict is not None:
            self.on_verdict(up)
        return up
