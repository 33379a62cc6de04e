"""The configuration: YAML with line numbers, validated once into the frozen model.

The public surface: ``load``/``load_text`` (-> ``model.Config`` or ``ConfigError`` listing
every problem with file, line and key path), ``summary`` for ``check``, and
``secret_problems`` (header variables that are not set)."""

from exporter.config.loader import load, load_text, secret_problems, summary
from exporter.config.source import ConfigError, Problem

__all__ = ["ConfigError", "Problem", "load", "load_text", "secret_problems", "summary"]
