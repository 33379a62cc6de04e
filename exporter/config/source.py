"""Reading YAML with line numbers, and the problems found in it.

Every user mistake becomes a ``Problem`` (key path + YAML line); they are all collected and
raised together as one ``ConfigError``, so one ``sla-exporter check`` shows everything to fix::

    config.yaml:14: tenants[0].probes[0].intervall: unknown key 'intervall' (did you mean 'interval'?)
    config.yaml:21: tenants[1].name: duplicate tenant name 'acme' (first at line 9)

Used by every file the exporter reads (the config, the web config): the same YAML rules
everywhere, duplicate keys refused with both lines."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from exporter.errors import UserError

# ---------------------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the config. ``path`` like ``tenants[1].probes[0].interval`` ("" for
    the document root); ``line`` is 1-based, None when there is no line to point at."""

    path: str
    message: str
    line: int | None

    def format(self, source: str) -> str:
        where = source if self.line is None else f"{source}:{self.line}"
        what = f"{self.path}: {self.message}" if self.path else self.message
        return f"{where}: {what}"


class ConfigError(UserError):
    """All problems of one config file; ``str()`` gives one ``source:line: path: message`` line each."""

    names_its_source = True

    def __init__(self, source: str, problems: list[Problem]):
        # Shared probe_defaults can fail identically once per probe: report each problem once.
        unique = list(dict.fromkeys(problems))
        self.source = source
        self.problems = sorted(unique, key=lambda p: (p.line is not None, p.line or 0, p.path))
        super().__init__("\n".join(problem.format(source) for problem in self.problems))


# ---------------------------------------------------------------------------------- YAML reading

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"
_STR_TAG = "tag:yaml.org,2002:str"


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 base-60 numbers: unquoted ``start: 22:00`` stays the string
    "22:00" (plain PyYAML reads 79200) and ``1:30`` is not 90."""


# The same rules on libyaml's parser when PyYAML was built with it: five times faster on a
# large config. The pure-Python loader stays the reference: it reads any text the C one
# refuses (so every error is worded and placed as before).
_CLoader: type[yaml.SafeLoader] | None = None
if hasattr(yaml, "CSafeLoader"):

    class _CLoaderType(yaml.CSafeLoader):
        """libyaml's parser with the resolvers of ``_Loader``."""

        def __init__(self, stream: str):
            super().__init__(stream)
            # Without path resolvers (none are added) a plain scalar's tag depends on its
            # text alone, and a config repeats its keys and many values: libyaml calls back
            # for every scalar, and the resolvers' patterns were a third of composing.
            self._tags: dict[str, str] | None = None if self.yaml_path_resolvers else {}

        def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
            tags = self._tags
            if tags is None or kind is not yaml.ScalarNode or not implicit[0]:
                return _resolve(self, kind, value, implicit)
            tag = tags.get(value)
            if tag is None:
                tag = tags[value] = _resolve(self, kind, value, implicit)
            return tag

    _CLoader = _CLoaderType  # type: ignore[assignment]
    _resolve: Callable[..., str] = yaml.CSafeLoader.resolve  # PyYAML's own (untyped in the stubs)

_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT_TAG, _FLOAT_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# PyYAML's own int/float patterns minus their ``(?::[0-5]?[0-9])+`` alternatives.
_Loader.add_implicit_resolver(
    _INT_TAG,
    re.compile(
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0[0-7_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    ),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    _FLOAT_TAG,
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
        |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


if _CLoader is not None:
    _CLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers


class YMap(dict[Any, Any]):
    """A YAML mapping that remembers the line of its start, of each key and of each value."""

    def __init__(self, line: int):
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}
        self.value_lines: dict[Any, int] = {}

    def put(self, key: Any, value: Any, key_line: int, value_line: int) -> None:
        self[key] = value
        self.key_lines[key] = key_line
        self.value_lines[key] = value_line


class YList(list[Any]):
    """A YAML sequence that remembers the line of its start and of each item."""

    def __init__(self, line: int):
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def line_of_value(value: Any) -> int:
    return getattr(value, "line", 1)  # a scalar document: no better line to hand


def _compose_fast(text: str) -> tuple[yaml.SafeLoader, yaml.Node | None] | None:
    """The document's node by libyaml, or None when the pure-Python loader must read it:
    no C parser, a character PyYAML's reader refuses, or any error (worded by the reference)."""
    if _CLoader is None or not isinstance(text, str) or yaml.reader.Reader.NON_PRINTABLE.search(text):
        return None
    try:
        loader = _CLoader(text)
        try:
            return loader, loader.get_single_node()
        finally:
            loader.dispose()
    except (yaml.YAMLError, RecursionError):
        return None


def read_yaml(ctx: Context, text: str) -> Any:
    """Parse ``text`` into YMap/YList/scalars; syntax errors become one problem each."""
    fast = _compose_fast(text)
    if fast is not None:
        loader, node = fast
        return None if node is None else _Builder(loader, ctx).build(node, "")
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
        return None if node is None else _Builder(loader, ctx).build(node, "")
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        # PyYAML reads "context, problem": "while parsing a flow sequence, expected ',' ..."
        parts = [part for part in (err.context, err.problem) if part]
        message = f"invalid YAML: {', '.join(parts) or 'syntax error'}"
        ctx.error("", mark.line + 1 if mark else None, message)
    except yaml.reader.ReaderError as err:  # a character YAML does not allow, e.g. NUL
        line = text.count("\n", 0, err.position) + 1 if isinstance(text, str) else None
        char = f"#x{err.character:04x}" if isinstance(err.character, int) else repr(err.character)
        ctx.error("", line, f"invalid YAML: unacceptable character {char}: {err.reason}")
    except yaml.YAMLError as err:
        ctx.error("", None, f"invalid YAML: {str(err).splitlines()[0]}")
    except RecursionError:
        ctx.error("", None, "invalid YAML: nested too deeply")
    return None


class _Builder:
    """Turns composed YAML nodes into values. Walking the nodes ourselves (rather than yaml.load)
    gives a line for every value and lets us report duplicate keys instead of silently keeping
    the last one."""

    def __init__(self, loader: yaml.SafeLoader, ctx: Context):
        self.loader = loader
        self.ctx = ctx
        self.built: dict[int, Any] = {}  # id(node) -> value: each alias target is built once
        self.building: set[int] = set()  # guards against an alias to its own ancestor

    def build(self, node: yaml.Node, path: _Path) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        key = id(node)
        if key in self.built:
            return self.built[key]
        if key in self.building:
            self.ctx.error(_text(path), _line(node), "recursive YAML alias")
            return None
        if node.tag not in (_MAP_TAG, _SEQ_TAG):
            self.ctx.error(_text(path), _line(node), f"unsupported YAML tag {node.tag!r}")
        self.building.add(key)
        if isinstance(node, yaml.MappingNode):
            value: YMap | YList = self._mapping(node, path)
        else:
            assert isinstance(node, yaml.SequenceNode)  # the only other kind: scalars are built above
            value = self._sequence(node, path)
        self.building.discard(key)
        self.built[key] = value
        return value

    def _scalar(self, node: yaml.ScalarNode, path: _Path) -> Any:
        if node.tag == _STR_TAG:  # most of a config: what SafeConstructor gives, without its calls
            return node.value
        if node.tag == _VALUE_TAG:  # a lone "=" (YAML 1.1 value key): plain text to us
            return node.value
        construct = self.loader.yaml_constructors.get(node.tag)
        if construct is None:
            self.ctx.error(_text(path), _line(node), f"unsupported YAML tag {node.tag!r}")
            return node.value
        try:
            value = construct(self.loader, node)
        except Exception:  # noqa: BLE001 - e.g. 2026-02-30 looks like a date but is not one
            return node.value  # keep the text: the field's own check explains what is wrong
        if inspect.isgenerator(value):  # a collection tag such as !!map on a plain value
            self.ctx.error(_text(path), _line(node), f"unsupported YAML tag {node.tag!r} on a plain value")
            return node.value
        return value

    def _mapping(self, node: yaml.MappingNode, path: _Path) -> YMap:
        result = YMap(node.start_mark.line + 1)
        merged = YMap(result.line)
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                self._merge(merged, value_node, path)
                continue
            key = (
                key_node.value
                if key_node.__class__ is _SCALAR and key_node.tag == _STR_TAG
                else self.build(key_node, path)
            )
            key_line = key_node.start_mark.line + 1
            try:
                hash(key)
            except TypeError:
                self.ctx.error(_text(path), key_line, "mapping keys must be plain values, not a mapping or list")
                continue
            if key in result.key_lines:
                first = result.key_lines[key]
                self.ctx.error(_join(_text(path), key), key_line, f"duplicate key {key!r} (first at line {first})")
                continue
            if value_node.__class__ is _SCALAR and value_node.tag == _STR_TAG:
                value = value_node.value  # the common case, without the calls
            else:
                value = self.build(value_node, (path, key, False))
            result.put(key, value, key_line, value_node.start_mark.line + 1)
        for key, value in merged.items():  # keys written out win over merged ones (YAML merge)
            if key not in result:
                result.put(key, value, merged.key_lines[key], merged.value_lines[key])
        return result

    def _merge(self, merged: YMap, node: yaml.Node, path: _Path) -> None:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            value = self.build(source, path) if isinstance(source, yaml.MappingNode) else None
            if not isinstance(value, YMap):
                self.ctx.error(_text(path), _line(source), "merge key '<<' expects a mapping or a list of mappings")
                continue
            for key in value:
                if key not in merged:  # with several merged mappings the first one wins
                    merged.put(key, value[key], value.key_lines[key], value.value_lines[key])

    def _sequence(self, node: yaml.SequenceNode, path: _Path) -> YList:
        result = YList(node.start_mark.line + 1)
        for index, item in enumerate(node.value):
            result.append(self.build(item, (path, index, True)))
            result.item_lines.append(item.start_mark.line + 1)
        return result


_SCALAR = yaml.ScalarNode
# A key path, worked out only when a problem names it (a large config has hundreds of
# thousands of values and next to no problems): a string, or (parent, key, False) for a
# mapping's value, or (parent, index, True) for a list's item.
_Path = str | tuple[Any, Any, bool]


def _text(path: _Path) -> str:
    if isinstance(path, str):
        return path
    parent, step, is_index = path
    return f"{_text(parent)}[{step}]" if is_index else _join(_text(parent), step)


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _join(path: str, key: Any) -> str:
    text = key if isinstance(key, str) and _PLAIN_KEY.fullmatch(key) else repr(key)
    return f"{path}.{text}" if path else text


class Context:
    """Accumulates problems while the whole config is checked."""

    def __init__(self, base_dir: str | None, probing: bool = True):
        self.problems: list[Problem] = []
        self.base_dir = base_dir
        # False when the config is read only to count (an evidence bundle's, away from
        # the machine that probed): files the probes read (ca_file) need not be there.
        self.probing = probing
        # Equal strings of the config as one object: 10,000 tenants repeat their probes'
        # names, each parsed into a string of its own (and the compacting copy of
        # loader._compacted keeps strings shared only when they are the same object).
        self.shared: dict[str, str] = {}

    def share(self, value: str) -> str:
        """``value``, or an equal string already seen."""
        return self.shared.setdefault(value, value)

    def error(self, path: str, line: int | None, message: str) -> None:
        # One problem per output line, whatever the user's value contained.
        self.problems.append(Problem(path, message.replace("\n", " "), line))
