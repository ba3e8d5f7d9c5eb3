"""Keeping secrets out of what sftk prints, logs and writes to reports.

A secret can come back in a different spelling than it was sent: form-encoded in a URL or body,
escaped in XML or JSON. Each spelling is replaced, longest first, so a secret that contains
another is still removed whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape

REDACTED = "[redacted]"


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every spelling of every non-empty secret replaced by ``[redacted]``."""
    spellings: set[str] = set()
    for secret in secrets:
        if secret:
            spellings.update(
                (
                    secret,
                    quote(secret, safe=""),
                    quote_plus(secret),
                    escape(secret, {'"': "&quot;", "'": "&apos;"}),
                    json.dumps(secret)[1:-1],
                )
            )
    for spelling in sorted(spellings, key=len, reverse=True):
        text = text.replace(spelling, REDACTED)
    return text
