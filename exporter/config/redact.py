"""URL userinfo (``user:password@``) is a secret: the one way a URL, or a message naming
URLs, is shown. The config's check (an invalid probe URL) and the prober (its log and error
messages) both use it."""

from __future__ import annotations

import re

# From the "//" up to the first "@" with no "/" in between: the userinfo, also when the
# text is an invalid URL (a space, "?" or "#" in the password) or a message quoting one.
_USERINFO = re.compile(r"(?<=//)[^/@]*@")


def redact_userinfo(text: str, mask: str = "") -> str:
    """``text`` with the userinfo of every URL in it replaced by ``mask`` (by default
    removed: ``https://u:p@host/`` -> ``https://host/``)."""
    return _USERINFO.sub(mask, text)


REDACTED = "<redacted>"


def redact_header_values(text: str) -> str:
    """Config ``text`` with every header value written literally (``headers: {Authorization:
    Bearer ...}``) replaced by ``"<redacted>"``: a credential does not change a figure, so it
    stays out of a file meant to be handed over (evidence bundles). Values given as
    ``{env: VAR}`` name no secret and stay. The rest of the text is kept byte for byte: only
    the values' spans are rewritten, found by the YAML parser's marks (block and quoted
    scalars, flow mappings, anchors reused by aliases alike). ``text`` must parse (a config
    that loaded)."""
    import yaml  # only this path parses: the URL redaction above is a pattern

    from exporter.config.source import _Loader

    spans: set[tuple[int, int]] = set()
    seen: set[int] = set()

    def walk(node: yaml.Node) -> None:
        if id(node) in seen:  # an alias is the same node: visited once
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == "headers" and isinstance(value, yaml.MappingNode):
                    for _, header in value.value:
                        if isinstance(header, yaml.ScalarNode):
                            spans.add((header.start_mark.index, header.end_mark.index))
                walk(key)
                walk(value)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item)

    loader = _Loader(text)
    try:
        while loader.check_node():
            document = loader.get_node()
            if document is not None:
                walk(document)
    finally:
        loader.dispose()
    out, at = [], 0
    for start, end in sorted(spans):
        value = text[start:end]
        # A block scalar's span ends after its line breaks: they stay.
        out += [text[at:start], f'"{REDACTED}"', value[len(value.rstrip(" \t\r\n")) :]]
        at = end
    out.append(text[at:])
    return "".join(out)
