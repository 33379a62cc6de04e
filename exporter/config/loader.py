"""Load and validate the YAML config into the frozen dataclasses of ``exporter.model``.

Every user mistake becomes a ``Problem`` (key path + YAML line). They are all collected and raised
together as one ``ConfigError``, so a single ``sla-exporter check`` shows everything to fix.

Example (what ``str(ConfigError)`` looks like)::

    config.yaml:14: tenants[0].probes[0].intervall: unknown key 'intervall' (did you mean 'interval'?)
    config.yaml:21: tenants[1].name: duplicate tenant name 'acme' (first at line 9)
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import pickle
from collections.abc import Iterator, Mapping

from exporter import model
from exporter.config.schema import Section, _describe
from exporter.config.sections import _config
from exporter.config.source import (
    ConfigError,
    Context,
    Problem,
    YMap,
    line_of_value,
    read_yaml,
)
from exporter.engine.units import format_percent

# ------------------------------------------------------------------------------------ public API


def load(path: str, probing: bool = True, compact: bool = True) -> model.Config:
    """Read and validate the config file at ``path``; raises ConfigError listing every problem.
    ``probing=False``: only to count (files the probes read are not checked). ``compact=False``
    skips the copy into memory of its own (``_compacted``), which only a long-lived process
    needs: a command that exits soon saves its time."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError, ValueError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise ConfigError(path, [Problem("", f"cannot read file: {reason}", None)]) from None
    # Relative paths inside the config (ca_file) mean "next to the config", as in Prometheus.
    return _load(text, path, os.path.dirname(os.path.abspath(path)), probing, compact)


def load_text(text: str, source: str = "<config>") -> model.Config:
    """Validate config given as text; ``source`` names it in messages (relative paths: cwd)."""
    return _load(text, source, None)


def summary(cfg: model.Config) -> str:
    """One line for ``sla-exporter check``, e.g. ``config.yaml: OK: 2 tenants, 5 probes, ...``."""
    probes = sum(len(tenant.probes) for tenant in cfg.tenants)
    top = len(cfg.windows)
    own = sum(len(tenant.windows) - top for tenant in cfg.tenants)
    windows = _count(top + own, "maintenance window")
    if top + own:
        windows += f" ({top} top-level, {own} per-tenant)"
    return (
        f"{cfg.source}: OK: {_count(len(cfg.tenants), 'tenant')}, {_count(probes, 'probe')}, "
        f"{windows}, timezone {cfg.timezone}, target {format_percent(cfg.target)}"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """A large config is hundreds of thousands of small objects (nodes, mappings, probes),
    none of them cyclic garbage: each pass of the cyclic collector while they pile up would
    rescan them all. Pausing it made a load of 10,000 tenants 2.5x faster. (The daemon's
    history load at start and the report CLI pause it too, for the same reason.)"""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load(text: str, source: str, base_dir: str | None, probing: bool = True, compact: bool = True) -> model.Config:
    with collector_paused():
        if not compact:
            return _validated(text, source, base_dir, probing)
        return _compacted(_validated(text, source, base_dir, probing))  # no reference kept: see _compacted


def _compacted(cfg: model.Config) -> model.Config:
    """The same config in memory of its own. What a load keeps (names, URLs, probes) was
    made among ten times as much that it drops (nodes, marks, mappings), and pins most of
    that memory: a daemon with 10,000 tenants stayed at 190 MB after the load for 12 MB of
    config. Copied once the rest is gone, the config packs into a few arenas (70 MB)."""
    try:
        data = pickle.dumps(cfg, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):  # nothing of ours; keep it as it is
        return cfg
    del cfg  # the caller holds none: the original goes before the copy is made
    copy: model.Config = pickle.loads(data)
    _share_numbers(copy)
    return copy


def _share_numbers(cfg: model.Config) -> None:
    """One object per distinct number in the tenants and probes. pickle memoizes strings
    but writes every int and float anew: the copy held three floats a probe and a float and
    an int a tenant that are equal fleet-wide (150.0, 0.9992): 2.7 MB at 10,000 tenants x 3
    probes. Set in place on the fresh copy, which nothing else holds yet."""
    seen: dict[tuple[type, float], float] = {}  # keyed by type too: 150 == 150.0

    def share(obj: model.Tenant | model.Probe, names: tuple[str, ...]) -> None:
        for name in names:
            value = getattr(obj, name)
            if type(value) in (int, float):
                object.__setattr__(obj, name, seen.setdefault((type(value), value), value))

    for tenant in cfg.tenants:
        share(tenant, _TENANT_NUMBERS)
        for probe in tenant.probes:
            share(probe, _PROBE_NUMBERS)


_TENANT_NUMBERS = tuple(f.name for f in dataclasses.fields(model.Tenant) if f.type in ("float", "int"))
_PROBE_NUMBERS = tuple(f.name for f in dataclasses.fields(model.Probe) if f.type in ("float", "int"))


def _validated(text: str, source: str, base_dir: str | None, probing: bool = True) -> model.Config:
    ctx = Context(base_dir, probing)
    data = read_yaml(ctx, text)
    config = None
    if isinstance(data, YMap):
        # Validate even after duplicate keys or odd tags, so that every problem shows at once.
        config = _config(Section(ctx, data, ""), source)
    elif data is not None:
        ctx.error("", line_of_value(data), f"expected a mapping at the top level, got {_describe(data)}")
    elif not ctx.problems:
        ctx.error("", None, "file is empty: expected a mapping with at least `tenants`")
    if ctx.problems or config is None:
        raise ConfigError(source, ctx.problems)
    return config


def secret_problems(cfg: model.Config, environ: Mapping[str, str]) -> list[str]:
    """Header variables that are not set in ``environ``. ``check`` reports them as errors;
    the daemon counts a probe that lacks its secret as a fault of ours (its time unknown),
    never as the vendor's downtime."""
    problems = []
    for i, tenant in enumerate(cfg.tenants):
        for j, probe in enumerate(tenant.probes):
            for name, value in probe.headers:
                if isinstance(value, model.EnvRef) and value.env not in environ:
                    problems.append(
                        f"{cfg.source}: tenants[{i}].probes[{j}].headers.{name}: "
                        f"environment variable {value.env} is not set (tenant {tenant.name}, "
                        f"probe {probe.name})"
                    )
    return problems
