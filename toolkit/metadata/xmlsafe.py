"""The one way to parse XML in sftk: no entity resolution, no network, no DTD loading."""

from __future__ import annotations

import re

from lxml import etree

from toolkit.errors import ConfigError


def parser() -> etree.XMLParser:
    """A fresh hardened parser (lxml parsers are not thread-safe, so callers get their own)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=True,
        remove_blank_text=False,
    )


def parse(content: bytes, where: str) -> etree._Element:
    """Parse ``content`` or raise a ConfigError naming ``where`` and the line of the problem.
    A document declaring a DTD or entities is refused too, as Salesforce refuses it."""
    try:
        root = etree.fromstring(content, parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 0
        raise ConfigError(
            f"{where}:{line}: not well-formed XML: {exc.msg}",
            hint="fix the XML syntax at that line",
        ) from None
    declared = doctype_line(root, content)
    if declared is not None:
        raise ConfigError(f"{where}:{declared}: {DOCTYPE_REFUSED}", hint=DOCTYPE_HINT)
    return root


DOCTYPE_REFUSED = "declares a DOCTYPE (a DTD or entities), which no metadata file may do"
DOCTYPE_HINT = "remove the <!DOCTYPE …> declaration and write the values out"


def doctype_line(root: etree._Element, content: bytes) -> int | None:
    """The line of the DOCTYPE the parsed ``content`` declares, None when it has none.
    Entities are never resolved, so a file that declares them cannot be read as written."""
    if root.getroottree().docinfo.internalDTD is None:
        return None
    return content.count(b"\n", 0, max(content.find(b"<!DOCTYPE"), 0)) + 1


# XML 1.0 Char production: no C0 controls but tab/LF/CR, no surrogates, no U+FFFE/U+FFFF.
ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# Salesforce writes quotes and apostrophes as entities in retrieved metadata; sftk writes text the
# same way everywhere (templates and serialiser), so converted files stay byte-identical.
_TEXT_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;", "\r": "&#13;"}
)
# Text with none of these is written as it is: nothing to escape, nothing to refuse.
NEEDS_CARE = re.compile(
    "[" + re.escape("".join(map(chr, _TEXT_ESCAPES))) + "]|" + ILLEGAL_XML.pattern
)


def escape_text(value: str) -> str:
    """Escape element text (a raw CR would come back as LF, so it becomes a reference)."""
    return value.translate(_TEXT_ESCAPES)
