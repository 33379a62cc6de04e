"""Body patterns (``expect_body_regex``) in RE2: matching takes time linear in the body, so
no pattern and no body can hold a probe worker, the interpreter lock, scrapes or shutdown
(Python's backtracking ``re`` takes minutes on ``.*UP`` against a 1 MiB body; RE2 takes
3 ms). RE2 has no backreferences or lookaround; such patterns are refused by the config
check with the reason."""

from __future__ import annotations

import functools
from typing import Protocol


class Pattern(Protocol):
    """What the prober asks of a compiled pattern."""

    def search(self, text: str, /) -> object | None: ...


@functools.lru_cache(maxsize=1024)
def compile_pattern(text: str) -> Pattern:
    """The compiled pattern; ValueError with RE2's reason for one it cannot take."""
    import re2  # ~2.6 MB of C++ library: only configs with a body pattern pay for it

    options = re2.Options()
    options.log_errors = False  # RE2 would also print every refused pattern to stderr
    try:
        pattern: Pattern = re2.compile(text, options)
        return pattern
    except re2.error as err:
        reason = err.args[0].decode("utf-8", "replace") if err.args and isinstance(err.args[0], bytes) else str(err)
        raise ValueError(
            f"invalid regular expression (RE2 syntax, no backreferences or lookaround): {reason}"
        ) from None
    except (TypeError, OverflowError) as err:
        raise ValueError(f"invalid regular expression: {err}") from None
