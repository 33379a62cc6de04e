"""The configuration: YAML with line numbers, validated once into the frozen model.

The public surface: ``load``/``load_text`` (-> ``model.Config`` or ``ConfigError`` listing
every problem with file, line and key path), ``summary`` for ``check``, and
``secret_problems`` (header variables that are not set); ``collector_paused``, the cyclic
garbage collector held off while a large structure of plain data is built (the config,
the daemon's history at start, a report)."""

from exporter.config.loader import collector_paused, load, load_text, secret_problems, summary
from exporter.config.source import ConfigError, Problem

__all__ = ["ConfigError", "Problem", "collector_paused", "load", "load_text", "secret_problems", "summary"]
