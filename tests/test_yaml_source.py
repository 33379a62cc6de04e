"""The config's YAML reader on libyaml's parser reads exactly what the pure-Python reader
reads: the same values, lines and problems (the C parser is only a faster way to the same
nodes; any text it refuses is read by the pure-Python one)."""

import pytest

from exporter.config import source

TEXTS = {
    "plain": "a: 1\nb: [x, 2.5, true, null]\nc: {d: e}\n",
    "times stay text": 'start: 22:00\nother: 1:30\nwhen: "02:00"\n',
    "dates and timestamps": "d: 2026-11-30\nt: 2026-11-30T10:00:00Z\nbad: 2026-02-30\n",
    "anchors, aliases and merge keys": (
        "base: &b {interval: 30s, timeout: 5s}\nprobes:\n  - <<: *b\n    name: a\n  - <<: [*b]\n    timeout: 2s\n"
    ),
    "a duplicate key": "a: 1\nb: 2\na: 3\n",
    "a mapping as a key": "? {a: 1}\n: x\n",
    "a lone equals sign": "= : 1\nk: =\n",
    "an unsupported tag": "a: !!python/name:os.system x\nb: !custom 1\n",
    "a collection tag on a plain value": "a: !!map x\n",
    "a recursive alias": "a: &a [*a]\n",
    "block scalars": "a: |\n  one\n  two\nb: >\n  folded\n  text\n",
    "numbers": "a: 0x1F\nb: 0o17\nc: 1_000\nd: .inf\ne: -.5e+3\nf: 010\n",
    "a scalar document": "just text\n",
    "an empty document": "",
    "a syntax error": "a: [1, 2\nb: 3\n",
    "a bad indentation": "a:\n  b: 1\n c: 2\n",
    "a tab": "a:\n\tb: 1\n",
    "a NUL character": "a: 1\x00\n",
    "a control character": "a: \x07\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "unicode": "name: \u00e9t\u00e9 \U0001f600\n",
}


def shape(value):
    """A value with its lines, for comparison."""
    if isinstance(value, source.YMap):
        return ("map", value.line, [(k, value.key_lines[k], value.value_lines[k], shape(v)) for k, v in value.items()])
    if isinstance(value, source.YList):
        return ("list", value.line, value.item_lines, [shape(v) for v in value])
    return (type(value).__name__, value)


def read(text):
    ctx = source.Context(None)
    return shape(source.read_yaml(ctx, text)), ctx.problems


@pytest.mark.parametrize("text", TEXTS.values(), ids=TEXTS.keys())
def test_libyaml_reads_what_the_pure_python_reader_reads(text, monkeypatch):
    assert source._CLoader is not None  # PyYAML's wheels carry libyaml: the fast path is tested
    fast = read(text)
    monkeypatch.setattr(source, "_CLoader", None)
    assert fast == read(text)
