"""The one family of errors users cause, and how they are reported.

Every mistake a user can fix - a config or web config problem, a bad import row, a store
that cannot be opened, a wrong flag value - is a ``UserError``: the command line prints
it as one line per problem (naming the file, line or key path, and what was expected)
and exits 1, never with a traceback. Problems of this program are not ``UserError``s.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix. ``names_its_source``: the message already starts with
    the file it is about (``config.yaml:14: ...``); otherwise the command line puts the
    verb before it (``sla-exporter report: ...``)."""

    names_its_source = False
