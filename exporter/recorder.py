"""Live probe history for the daemon.

Probe results become runs (``states.merge``, the same rule the import uses), kept in
memory from the start of the previous month on, so a scrape never reads the disk, and
written to the store in batches (``flush``, a group commit about once a second). A
crash therefore loses at most the results since the last flush: the stored run ends
where its last flushed result stops holding, and the time after reads as unknown, never
as a wrong state. After a restart the first result is more than ``stale_after`` after
the stored one, so it starts a new run and the gap stays unknown.

Thread-safe: probe workers call ``observe``, the flush job calls ``flush`` and ``tick``,
scrapes call ``runs_of`` and ``last_result``.
"""

from __future__ import annotations

import collections
import logging
import threading
from dataclasses import dataclass

from exporter.model import Config, Tenant
from exporter.states import Run, merge, probe_state_at, tenant_state_at
from exporter.store import Store

log = logging.getLogger("sla_exporter")

Key = tuple[str, str]  # (tenant, probe)


@dataclass(frozen=True)
class Result:
    """What the recorder keeps of a probe's last run (for the probe-level gauges)."""

    started: float
    success: bool
    duration: float
    status_code: int | None = None
    reason: str | None = None
    cert_expiry: float | None = None


class Recorder:
    def __init__(self, store: Store, cfg: Config, since: float):
        self.store = store
        self.lock = threading.Lock()
        self.since = since  # memory holds every run that covers any time from here on
        self.cfg = cfg
        self.runs: dict[Key, list[Run]] = {}
        self.dirty: dict[tuple[Key, float], Run] = {}
        self.results: dict[Key, Result] = {}
        self.errors: collections.Counter[tuple[str, str, str]] = collections.Counter()
        self.states: dict[Key | str, str] = {}  # last logged state of probes and tenants
        self.first: dict[Key, float | None] = {}  # when each probe's history begins
        self.configure(cfg)

    # -- configuration --------------------------------------------------------------------

    def configure(self, cfg: Config) -> None:
        """Adopt a (re)loaded config: load the history of probes new to memory."""
        keys = {(t.name, p.name) for t in cfg.tenants for p in t.probes}
        with self.lock:
            self.cfg = cfg
            self._probes = {(t.name, p.name): p for t in cfg.tenants for p in t.probes}
            for key in keys - self.runs.keys():
                self.runs[key] = self.store.runs(*key, self.since, float("inf"))
                self.first[key] = self.store.first_start(*key)
            for key in self.runs.keys() - keys:
                del self.runs[key]  # removed from config: its stored history stays

    def trim(self, since: float) -> None:
        """Forget runs that end before ``since`` (called when a month begins)."""
        with self.lock:
            self.since = since
            for key, runs in self.runs.items():
                self.runs[key] = [r for r in runs if r.end > since]

    # -- writing --------------------------------------------------------------------------

    def observe(self, tenant: str, probe: str, result: Result) -> None:
        key = (tenant, probe)
        with self.lock:
            spec = self._probes.get(key)
            if spec is None:
                return  # a run of a probe that a reload just removed
            runs = self.runs[key]
            if runs and result.started <= runs[-1].last:
                # The wall clock stepped back (or two results share an instant): keep the
                # history as it is rather than write overlapping runs.
                log.warning("result out of order, ignored", extra={"fields": {"tenant": tenant, "probe": probe}})
                return
            tail = merge(runs[-1:], [(result.started, result.success)], spec.stale_after)
            runs[-1:] = tail
            for run in tail:
                self.dirty[(key, run.start)] = run
            self.results[key] = result
            if self.first.get(key) is None:
                self.first[key] = result.started
            if not result.success and result.reason:
                self.errors[(tenant, probe, result.reason)] += 1
            self._log_changes(tenant, result.started, result.reason)

    def flush(self) -> int:
        """Write the runs changed since the last flush in one transaction."""
        with self.lock:
            batch, self.dirty = self.dirty, {}
        if batch:
            try:
                self.store.save_runs((key[0], key[1], run) for (key, _), run in batch.items())
            except Exception:
                with self.lock:  # keep them for the next flush, newer versions first
                    for k, run in batch.items():
                        self.dirty.setdefault(k, run)
                raise
        return len(batch)

    def tick(self, now: float) -> dict[str, dict[str, str]]:
        """Log states that changed by time passing alone (a probe going stale); return
        every tenant's probe states at ``now`` (for incident detection)."""
        with self.lock:
            return {tenant.name: self._log_changes(tenant.name, now, "stale") for tenant in self.cfg.tenants}

    # -- reading --------------------------------------------------------------------------

    def runs_of(self, tenant: str, probe: str, lo: float, hi: float) -> list[Run]:
        if lo < self.since:
            return self.store.runs(tenant, probe, lo, hi)
        with self.lock:
            return list(self.runs.get((tenant, probe), ()))

    def lasts(self, tenant: Tenant) -> dict[str, tuple[int, Run | None]]:
        """Each probe's number of runs in memory and its last run: enough to tell whether
        a tenant's history changed shape, without copying it."""
        with self.lock:
            out = {}
            for p in tenant.probes:
                runs = self.runs.get((tenant.name, p.name)) or ()
                out[p.name] = (len(runs), runs[-1] if runs else None)
            return out

    def snapshot(self, tenant: Tenant) -> dict[str, list[Run]]:
        """The in-memory runs of a tenant's probes, by probe name (copies)."""
        with self.lock:
            return {p.name: list(self.runs.get((tenant.name, p.name), ())) for p in tenant.probes}

    def first_start(self, tenant: str, probe: str) -> float | None:
        with self.lock:
            return self.first.get((tenant, probe))

    def last_result(self, tenant: str, probe: str) -> Result | None:
        with self.lock:
            return self.results.get((tenant, probe))

    def last_results(self) -> dict[Key, Result]:
        with self.lock:
            return dict(self.results)

    def error_counts(self) -> dict[tuple[str, str, str], int]:
        with self.lock:
            return dict(self.errors)

    def state_now(self, tenant: Tenant, now: float) -> tuple[str, dict[str, str]]:
        """(tenant state, {probe: state}) at instant ``now``: up, down or unknown."""
        with self.lock:
            return self._state_now(tenant, now)

    def _state_now(self, tenant: Tenant, now: float) -> tuple[str, dict[str, str]]:
        lasts = {p.name: (self.runs.get((tenant.name, p.name)) or [None])[-1] for p in tenant.probes}
        # A result that started after `now` (its run finished first, or the clock was read
        # before it arrived) is the newest knowledge: judge at that instant, not before it,
        # where its run would read as unknown.
        at = max([now] + [r.start for r in lasts.values() if r is not None])
        per_probe = {p.name: probe_state_at(lasts[p.name], p.failure_threshold, at) for p in tenant.probes}
        return tenant_state_at(list(per_probe.values()), tenant.down_when), per_probe

    def _log_changes(self, tenant_name: str, now: float, reason: str | None) -> dict[str, str]:
        tenant = self.cfg.tenant(tenant_name)
        if tenant is None:
            return {}
        state, probes = self._state_now(tenant, now)
        for probe, new in probes.items():
            self._change((tenant_name, probe), new, {"tenant": tenant_name, "probe": probe},
                         reason if new != "up" else None)
        self._change(tenant_name, state, {"tenant": tenant_name}, None)
        return probes

    def _change(self, key: Key | str, new: str, labels: dict, reason: str | None) -> None:
        old = self.states.get(key)
        if old == new or (old is None and new == "unknown"):
            return  # nothing known yet is not a change
        self.states[key] = new
        if old is not None or new == "down":  # the first result being up is no news
            what = "probe state change" if isinstance(key, tuple) else "tenant state change"
            fields = {**labels, "from": old or "unknown", "to": new}
            if isinstance(key, tuple):
                fields["reason"] = reason
            log.info(what, extra={"fields": fields})
