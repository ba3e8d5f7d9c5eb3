"""Keeping secrets out of what sftk prints, logs and writes to reports.

A secret can come back in a different spelling than it was sent: form-encoded in a URL or body,
escaped in XML or JSON. Each spelling is replaced, longest first, so a secret that contains
another is still removed whole. Only whole occurrences are replaced (not glued to letters,
digits or underscores on either side), and only of values long enough to be secrets:
Salesforce's shortest, a password, has 8 characters. A shorter value is no secret worth
hiding, and replacing it would rewrite ordinary words ("org profil[redacted]").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 8


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every spelling of every secret replaced by ``[redacted]``."""
    spellings: set[str] = set()
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            spellings.update(
                (
                    secret,
                    quote(secret, safe=""),
                    quote_plus(secret),
                    escape(secret, {'"': "&quot;", "'": "&apos;"}),
                    json.dumps(secret)[1:-1],
                )
            )
    if not spellings:
        return text
    longest_first = sorted(spellings, key=len, reverse=True)
    whole = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, longest_first)) + r")(?!\w)")
    return whole.sub(REDACTED, text)
