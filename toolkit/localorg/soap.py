"""SOAP 1.1 for the Metadata API: reading a call out of an envelope, writing results and faults.

Clients differ in the prefixes they give the envelope and the metadata namespace (``met:``,
``ns0:``, a default namespace), so everything here matches elements by namespace URI and local
name, never by prefix. Results are plain Python values (dicts in WSDL sequence order, lists for
repeated elements) so that the same data can be written as SOAP or as the REST JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from toolkit.errors import ConfigError
from toolkit.localorg.http import Response
from toolkit.metadata import xmlsafe
from toolkit.metadata.files import METADATA_NS

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
FAULT_NS = "urn:fault.partner.soap.sforce.com"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_MD = f"{{{METADATA_NS}}}"
_ANY = "{*}"


class Nil:
    """A value written as ``xsi:nil="true"`` (WSDL elements that are required but nillable)."""


NIL = Nil()


class SoapFault(Exception):
    """A call the org refuses as a whole: answered with a SOAP fault and HTTP 500.

    ``code`` is a Salesforce exception code (INVALID_SESSION_ID, INVALID_ID_FIELD ...) written
    as ``sf:CODE``, or ``Client`` for an envelope that cannot be read at all (``soapenv:Client``).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SoapCall:
    operation: str
    element: etree._Element
    session_id: str | None


def _is(element: etree._Element, namespace: str, local: str) -> bool:
    return isinstance(element.tag, str) and element.tag == f"{{{namespace}}}{local}"


def elements(parent: etree._Element) -> list[etree._Element]:
    """The element children of ``parent`` (comments and processing instructions left out)."""
    return [child for child in parent if isinstance(child.tag, str)]


def parse_call(body: bytes) -> SoapCall:
    """The operation element and session id of a request envelope, or a Client fault."""
    try:
        root = xmlsafe.parse(body, "SOAP request")
    except ConfigError as exc:
        raise SoapFault("Client", exc.message) from None
    if not _is(root, SOAP_ENV, "Envelope"):
        raise SoapFault(
            "Client", f"Expected a SOAP 1.1 Envelope in {SOAP_ENV}, found {etree.QName(root).text}"
        )
    header = next((e for e in elements(root) if _is(e, SOAP_ENV, "Header")), None)
    body_el = next((e for e in elements(root) if _is(e, SOAP_ENV, "Body")), None)
    if body_el is None or not elements(body_el):
        raise SoapFault("Client", "The SOAP Envelope has no Body element holding an operation")
    operation = elements(body_el)[0]
    name = etree.QName(operation)
    if name.namespace != METADATA_NS:
        raise SoapFault(
            "Client",
            f"No operation available for request {name.text}, please check the WSDL for the "
            "service.",
        )
    session_id = None
    if header is not None:
        session = child(header, "SessionHeader")
        if session is not None:
            session_id = text(session, "sessionId")
    return SoapCall(name.localname, operation, session_id)


def child(parent: etree._Element, name: str) -> etree._Element | None:
    """The first child called ``name``, in the metadata namespace or (as some clients write
    the members of an argument) in none: Salesforce reads both."""
    return parent.find(_ANY + name)


def children(parent: etree._Element, name: str) -> list[etree._Element]:
    return parent.findall(_ANY + name)


def text(parent: etree._Element, name: str) -> str | None:
    found = child(parent, name)
    return None if found is None else (found.text or "").strip()


def boolean(value: str | None, default: bool = False) -> bool:
    """An xsd:boolean as clients send it; simple-salesforce writes Python's ``True``/``False``."""
    if value is None or not value.strip():
        return default
    folded = value.strip().lower()
    if folded in ("true", "1"):
        return True
    if folded in ("false", "0"):
        return False
    raise SoapFault("Client", f"'{value.strip()}' is not a valid value for the type xsd:boolean")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def add_value(parent: etree._Element, name: str, value: Any) -> None:
    """Write ``value`` as child element(s) ``name``; None writes nothing, a list repeats."""
    if value is None:
        return
    if isinstance(value, list):
        for item in value:
            add_value(parent, name, item)
        return
    element = etree.SubElement(parent, _MD + name)
    if isinstance(value, Nil):
        element.set(f"{{{XSI_NS}}}nil", "true")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            add_value(element, key, item)
    else:
        element.text = _scalar(value)


def response_body(operation: str, results: Iterable[Any]) -> etree._Element:
    """``<{operation}Response>`` with one ``<result>`` per item."""
    element = etree.Element(_MD + f"{operation}Response", nsmap={None: METADATA_NS})  # type: ignore[dict-item]
    for result in results:
        add_value(element, "result", result)
    return element


def envelope(body: etree._Element) -> bytes:
    root = etree.Element(
        f"{{{SOAP_ENV}}}Envelope",
        nsmap={"soapenv": SOAP_ENV, None: METADATA_NS, "xsi": XSI_NS},  # type: ignore[dict-item]
    )
    etree.SubElement(root, f"{{{SOAP_ENV}}}Body").append(body)
    return bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=True))


def respond(operation: str, results: Iterable[Any]) -> Response:
    return Response.xml(envelope(response_body(operation, results)))


def fault_response(error: SoapFault) -> Response:
    """Salesforce's fault shape: ``sf:CODE``, ``CODE: message``, and the code again in detail."""
    root = etree.Element(
        f"{{{SOAP_ENV}}}Envelope", nsmap={"soapenv": SOAP_ENV, "sf": FAULT_NS, "xsi": XSI_NS}
    )
    body = etree.SubElement(root, f"{{{SOAP_ENV}}}Body")
    node = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    if error.code == "Client":
        etree.SubElement(node, "faultcode").text = "soapenv:Client"
        etree.SubElement(node, "faultstring").text = error.message
    else:
        etree.SubElement(node, "faultcode").text = f"sf:{error.code}"
        etree.SubElement(node, "faultstring").text = f"{error.code}: {error.message}"
        detail = etree.SubElement(node, "detail")
        unexpected = etree.SubElement(detail, f"{{{FAULT_NS}}}UnexpectedErrorFault")
        unexpected.set(f"{{{XSI_NS}}}type", "sf:UnexpectedErrorFault")
        etree.SubElement(unexpected, f"{{{FAULT_NS}}}exceptionCode").text = error.code
        etree.SubElement(unexpected, f"{{{FAULT_NS}}}exceptionMessage").text = error.message
    return Response.xml(bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=True)), 500)
