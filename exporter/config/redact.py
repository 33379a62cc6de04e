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
