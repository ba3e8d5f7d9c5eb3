"""A thin Metadata API SOAP client: one method per call, typed results, one kind of error.

Envelopes are built with lxml and answers read with the project's hardened parser. Every
failure is an ``OrgError`` whose ``code`` the deploy orchestrator looks up in its tables: the
Salesforce fault code without its ``sf:`` prefix (INVALID_SESSION_ID, UNABLE_TO_LOCK_ROW, ...),
``CONNECTION`` or ``TIMEOUT`` when no answer came, ``HTTP_<status>`` for an answer that is not
the SOAP the call expects (a proxy's 503 page, a 404). Nothing is retried here: whether a call
may be sent again depends on the call (a deploy must never be submitted twice), which only the
caller knows.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import TypeVar

import requests
from lxml import etree

from toolkit.errors import OrgError
from toolkit.metadata import xmlsafe
from toolkit.metadata.files import METADATA_NS
from toolkit.salesforce.connection import OrgConnection
from toolkit.salesforce.results import (
    CancelResult,
    ClassCoverage,
    ComponentMessage,
    CoverageWarning,
    DeployOptions,
    DeployResult,
    TestFailure,
    TestResults,
    TestSuccess,
)
from toolkit.salesforce.retrieve_results import (
    DescribeMetadataResult,
    FileProperties,
    ListMetadataQuery,
    MetadataObjectDescription,
    RetrieveMessage,
    RetrieveRequest,
    RetrieveResult,
)

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
CONNECT_TIMEOUT = 30.0
# Salesforce itself ends a SOAP call after 10 minutes; a retrieve's zip can take long to send.
READ_TIMEOUT = 600.0
_MD = f"{{{METADATA_NS}}}"
_ANY = "{*}"
_T = TypeVar("_T")
_HINTS = {
    "INVALID_SESSION_ID": "the session expired or was revoked: log in to the org again",
    "INSUFFICIENT_ACCESS": (
        "the user needs the Modify Metadata Through Metadata API Functions or the Modify All "
        "Data permission"
    ),
}


class _Unreadable(ValueError):
    """A value in an answer that does not have the type the WSDL gives it."""


class MetadataClient:
    """The Metadata API of one connection, at the connection's API version."""

    def __init__(
        self,
        connection: OrgConnection,
        *,
        timeout: float | tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
    ) -> None:
        self.connection = connection
        self.timeout = timeout

    # --- deploys ---------------------------------------------------------------------------

    def deploy(self, zip_bytes: bytes, options: DeployOptions) -> str:
        """Start a deploy (or a validation, with ``check_only``); returns its async id."""

        def arguments(call: etree._Element) -> None:
            _add(call, "ZipFile", base64.b64encode(zip_bytes).decode("ascii"))
            element = etree.SubElement(call, _MD + "DeployOptions")
            _add(element, "allowMissingFiles", options.allow_missing_files)
            _add(element, "autoUpdatePackage", options.auto_update_package)
            _add(element, "checkOnly", options.check_only)
            _add(element, "ignoreWarnings", options.ignore_warnings)
            _add(element, "performRetrieve", options.perform_retrieve)
            _add(element, "purgeOnDelete", options.purge_on_delete)
            _add(element, "rollbackOnError", options.rollback_on_error)
            for name in options.run_tests:
                _add(element, "runTests", name)
            _add(element, "singlePackage", options.single_package)
            _add(element, "testLevel", options.test_level)

        return self._call("deploy", arguments, _async_id)

    def check_deploy_status(self, deploy_id: str, include_details: bool = True) -> DeployResult:
        def arguments(call: etree._Element) -> None:
            _add(call, "asyncProcessId", deploy_id)
            _add(call, "includeDetails", include_details)

        return self._call("checkDeployStatus", arguments, lambda r: _deploy_result(_result(r)))

    def cancel_deploy(self, deploy_id: str) -> CancelResult:
        """Ask the org to cancel; ``done`` is False while it is still canceling."""

        def read(response: etree._Element) -> CancelResult:
            result = _result(response)
            return CancelResult(id=_required(result, "id"), done=_bool(result, "done"))

        return self._call("cancelDeploy", lambda call: _add(call, "String", deploy_id), read)

    def deploy_recent_validation(self, validation_id: str) -> str:
        """Quick-deploy a validation that passed with tests; returns the new deploy's id."""
        return self._call(
            "deployRecentValidation",
            lambda call: _add(call, "validationId", validation_id),
            lambda response: _required(response, "result"),
        )

    # --- retrieves and describes ------------------------------------------------------------

    def retrieve(self, request: RetrieveRequest) -> str:
        """Start a retrieve; returns its async id for ``check_retrieve_status``."""
        version = request.api_version or self.connection.api_version

        def arguments(call: etree._Element) -> None:
            element = etree.SubElement(call, _MD + "retrieveRequest")
            _add(element, "apiVersion", version)
            for name in request.package_names:
                _add(element, "packageNames", name)
            _add(element, "singlePackage", request.single_package)
            if request.types or not request.package_names:
                package = etree.SubElement(element, _MD + "unpackaged")
                for type_name in sorted(request.types):
                    types = etree.SubElement(package, _MD + "types")
                    for member in request.types[type_name]:
                        _add(types, "members", member)
                    _add(types, "name", type_name)
                _add(package, "version", version)

        return self._call("retrieve", arguments, _async_id)

    def check_retrieve_status(self, retrieve_id: str, include_zip: bool = True) -> RetrieveResult:
        def arguments(call: etree._Element) -> None:
            _add(call, "asyncProcessId", retrieve_id)
            _add(call, "includeZip", include_zip)

        return self._call("checkRetrieveStatus", arguments, lambda r: _retrieve_result(_result(r)))

    def list_metadata(
        self, queries: Sequence[ListMetadataQuery], api_version: str | None = None
    ) -> list[FileProperties]:
        """The components the queries name (Salesforce takes at most three per call)."""

        def arguments(call: etree._Element) -> None:
            for query in queries:
                element = etree.SubElement(call, _MD + "queries")
                _add(element, "folder", query.folder)
                _add(element, "type", query.type)
            _add(call, "asOfVersion", api_version or self.connection.api_version)

        return self._call(
            "listMetadata",
            arguments,
            lambda response: [_file_properties(p) for p in _children(response, "result")],
        )

    def describe_metadata(self, api_version: str | None = None) -> DescribeMetadataResult:
        return self._call(
            "describeMetadata",
            lambda call: _add(call, "asOfVersion", api_version or self.connection.api_version),
            lambda response: _describe_result(_result(response)),
        )

    # --- the wire ---------------------------------------------------------------------------

    def _envelope(self, operation: str, arguments: Callable[[etree._Element], None]) -> bytes:
        root = etree.Element(
            f"{{{SOAP_ENV}}}Envelope", nsmap={"soapenv": SOAP_ENV, "met": METADATA_NS}
        )
        header = etree.SubElement(root, f"{{{SOAP_ENV}}}Header")
        session = etree.SubElement(header, _MD + "SessionHeader")
        _add(session, "sessionId", self.connection.access_token)
        body = etree.SubElement(root, f"{{{SOAP_ENV}}}Body")
        arguments(etree.SubElement(body, _MD + operation))
        return bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=True))

    def _call(
        self,
        operation: str,
        arguments: Callable[[etree._Element], None],
        read: Callable[[etree._Element], _T],
    ) -> _T:
        """Send one operation and read its ``<operationResponse>`` element with ``read``."""
        url = self.connection.metadata_url
        try:
            answer = self.connection.session.post(
                url,
                data=self._envelope(operation, arguments),
                headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
                timeout=self.timeout,
            )
        except requests.Timeout as exc:
            raise OrgError(
                f"Metadata API {operation}: {self.connection.instance_url} did not answer in "
                f"time ({_reason(exc)})",
                code="TIMEOUT",
            ) from exc
        except requests.RequestException as exc:
            raise OrgError(
                f"Metadata API {operation}: could not talk to {self.connection.instance_url} "
                f"({_reason(exc)})",
                code="CONNECTION",
            ) from exc
        response = _response_element(operation, answer)
        try:
            return read(response)
        except (_Unreadable, binascii.Error) as exc:
            raise _not_soap(operation, answer, f"the answer cannot be read: {exc}") from None


# --- reading answers --------------------------------------------------------------------------


def _reason(error: requests.RequestException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _response_element(operation: str, answer: requests.Response) -> etree._Element:
    """The operation's response element, or the OrgError the answer amounts to."""
    try:
        root = etree.fromstring(answer.content, xmlsafe.parser())
    except etree.XMLSyntaxError:
        root = None
    body = None
    if root is not None and root.tag == f"{{{SOAP_ENV}}}Envelope":
        body = root.find(f"{{{SOAP_ENV}}}Body")
    if body is not None:
        fault = body.find(f"{{{SOAP_ENV}}}Fault")
        if fault is not None:
            raise _fault(operation, fault, answer.status_code)
        found = body.find(f"{_ANY}{operation}Response")
        if found is not None and answer.ok:
            return found
    raise _not_soap(operation, answer, "the answer is not the SOAP response the call expects")


def _fault(operation: str, fault: etree._Element, status: int) -> OrgError:
    """A SOAP fault as an OrgError: the exceptionCode of the detail when there is one, else
    the faultcode without its prefix (``soapenv:Client`` becomes ``Client``)."""
    faultcode = (fault.findtext(_ANY + "faultcode") or "").strip()
    message = (fault.findtext(_ANY + "faultstring") or "").strip()
    detailed = fault.find(f"{_ANY}detail/*/{_ANY}exceptionCode")
    code = (detailed.text or "").strip() if detailed is not None else ""
    code = code or faultcode.rpartition(":")[2] or "UNKNOWN_EXCEPTION"
    return OrgError(
        f"Metadata API {operation} failed: {message or code}",
        code=code,
        status=status,
        hint=_HINTS.get(code),
    )


def _not_soap(operation: str, answer: requests.Response, what: str) -> OrgError:
    """An answer sftk cannot use, named by its HTTP status; a REST-style JSON error list
    (what an org sends for a wrong URL) is quoted, since it says what went wrong."""
    detail = ""
    if "json" in answer.headers.get("Content-Type", ""):
        try:
            errors = json.loads(answer.content)
        except ValueError:
            errors = None
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            detail = f": {errors[0].get('errorCode')}: {errors[0].get('message')}"
    return OrgError(
        f"Metadata API {operation}: HTTP {answer.status_code} from "
        f"{answer.url or 'the org'}; {what}{detail}",
        code=f"HTTP_{answer.status_code}",
        status=answer.status_code,
    )


def _add(parent: etree._Element, name: str, value: str | bool | None) -> None:
    """Append ``<name>value</name>`` in the metadata namespace; None appends nothing."""
    if value is None:
        return
    element = etree.SubElement(parent, _MD + name)
    if isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = value


def _children(parent: etree._Element, name: str) -> list[etree._Element]:
    return parent.findall(_ANY + name)


def _child(parent: etree._Element, name: str) -> etree._Element | None:
    """The child ``name``; None when it is missing or ``xsi:nil``."""
    found = parent.find(_ANY + name)
    if found is None or found.get(f"{{{XSI_NS}}}nil") in ("true", "1"):
        return None
    return found


def _result(response: etree._Element) -> etree._Element:
    found = _child(response, "result")
    if found is None:
        raise _Unreadable("it has no result element")
    return found


def _text(parent: etree._Element, name: str) -> str | None:
    found = _child(parent, name)
    return None if found is None else (found.text or "")


def _str(parent: etree._Element, name: str) -> str:
    return _text(parent, name) or ""


def _optional(parent: etree._Element, name: str) -> str | None:
    """Text that means nothing when empty (``<id/>``, ``<namespacePrefix/>``) as None."""
    return _text(parent, name) or None


def _required(parent: etree._Element, name: str) -> str:
    value = _optional(parent, name)
    if value is None:
        raise _Unreadable(f"it has no {name}")
    return value


def _bool(parent: etree._Element, name: str, default: bool = False) -> bool:
    value = (_text(parent, name) or "").strip()
    if not value:
        return default
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise _Unreadable(f"{name} is {value!r}, not a boolean")


def _int_or_none(parent: etree._Element, name: str) -> int | None:
    value = (_text(parent, name) or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise _Unreadable(f"{name} is {value!r}, not a whole number") from None


def _int(parent: etree._Element, name: str) -> int:
    value = _int_or_none(parent, name)
    return 0 if value is None else value


def _float(parent: etree._Element, name: str) -> float:
    value = (_text(parent, name) or "").strip()
    if not value:
        return 0.0
    try:
        return float(value)
    except ValueError:
        raise _Unreadable(f"{name} is {value!r}, not a number") from None


def _async_id(response: etree._Element) -> str:
    """The id of an AsyncResult; a request refused at once (state Error, API 30.0 and older)
    raises like a fault."""
    result = _result(response)
    if _text(result, "state") == "Error":
        code = _optional(result, "statusCode") or "UNKNOWN_EXCEPTION"
        raise OrgError(
            f"Metadata API refused the request: {_optional(result, 'message') or code}",
            code=code,
        )
    return _required(result, "id")


def _component(message: etree._Element) -> ComponentMessage:
    return ComponentMessage(
        component_type=_str(message, "componentType"),
        full_name=_str(message, "fullName"),
        file_name=_str(message, "fileName"),
        success=_bool(message, "success"),
        created=_bool(message, "created"),
        changed=_bool(message, "changed"),
        deleted=_bool(message, "deleted"),
        problem=_optional(message, "problem"),
        problem_type=_optional(message, "problemType"),
        line=_int_or_none(message, "lineNumber"),
        column=_int_or_none(message, "columnNumber"),
        id=_optional(message, "id"),
    )


def _failure(entry: etree._Element) -> TestFailure:
    return TestFailure(
        class_name=_str(entry, "name"),
        method_name=_str(entry, "methodName"),
        message=_str(entry, "message"),
        stack_trace=_str(entry, "stackTrace"),
        time_ms=_float(entry, "time"),
        namespace=_optional(entry, "namespace"),
        id=_optional(entry, "id"),
    )


def _success(entry: etree._Element) -> TestSuccess:
    return TestSuccess(
        class_name=_str(entry, "name"),
        method_name=_str(entry, "methodName"),
        time_ms=_float(entry, "time"),
        namespace=_optional(entry, "namespace"),
        id=_optional(entry, "id"),
    )


def _coverage(entry: etree._Element) -> ClassCoverage:
    return ClassCoverage(
        name=_str(entry, "name"),
        type=_str(entry, "type"),
        num_locations=_int(entry, "numLocations"),
        num_not_covered=_int(entry, "numLocationsNotCovered"),
        uncovered_lines=tuple(_int(loc, "line") for loc in _children(entry, "locationsNotCovered")),
        namespace=_optional(entry, "namespace"),
        id=_optional(entry, "id"),
    )


def _warning(entry: etree._Element) -> CoverageWarning:
    return CoverageWarning(
        message=_str(entry, "message"),
        name=_optional(entry, "name"),
        namespace=_optional(entry, "namespace"),
    )


def _tests(run: etree._Element) -> TestResults:
    return TestResults(
        num_tests_run=_int(run, "numTestsRun"),
        num_failures=_int(run, "numFailures"),
        total_time_ms=_float(run, "totalTime"),
        failures=tuple(_failure(e) for e in _children(run, "failures")),
        successes=tuple(_success(e) for e in _children(run, "successes")),
        coverage=tuple(_coverage(e) for e in _children(run, "codeCoverage")),
        coverage_warnings=tuple(_warning(e) for e in _children(run, "codeCoverageWarnings")),
    )


def _deploy_result(result: etree._Element) -> DeployResult:
    failures: tuple[ComponentMessage, ...] = ()
    successes: tuple[ComponentMessage, ...] = ()
    tests = TestResults()
    details = _child(result, "details")
    if details is not None:
        failures = tuple(_component(m) for m in _children(details, "componentFailures"))
        successes = tuple(_component(m) for m in _children(details, "componentSuccesses"))
        run = _child(details, "runTestResult")
        if run is not None:
            tests = _tests(run)
    return DeployResult(
        id=_required(result, "id"),
        status=_required(result, "status"),
        done=_bool(result, "done"),
        success=_bool(result, "success"),
        check_only=_bool(result, "checkOnly"),
        ignore_warnings=_bool(result, "ignoreWarnings"),
        rollback_on_error=_bool(result, "rollbackOnError", True),
        run_tests_enabled=_bool(result, "runTestsEnabled"),
        state_detail=_optional(result, "stateDetail"),
        error_message=_optional(result, "errorMessage"),
        error_status_code=_optional(result, "errorStatusCode"),
        number_components_total=_int(result, "numberComponentsTotal"),
        number_components_deployed=_int(result, "numberComponentsDeployed"),
        number_component_errors=_int(result, "numberComponentErrors"),
        number_tests_total=_int(result, "numberTestsTotal"),
        number_tests_completed=_int(result, "numberTestsCompleted"),
        number_test_errors=_int(result, "numberTestErrors"),
        created_date=_optional(result, "createdDate"),
        start_date=_optional(result, "startDate"),
        completed_date=_optional(result, "completedDate"),
        created_by_name=_optional(result, "createdByName"),
        canceled_by_name=_optional(result, "canceledByName"),
        component_successes=successes,
        component_failures=failures,
        tests=tests,
    )


def _file_properties(entry: etree._Element) -> FileProperties:
    return FileProperties(
        type=_str(entry, "type"),
        full_name=_str(entry, "fullName"),
        file_name=_str(entry, "fileName"),
        id=_optional(entry, "id"),
        namespace=_optional(entry, "namespacePrefix"),
        manageable_state=_optional(entry, "manageableState"),
        created_by_id=_optional(entry, "createdById"),
        created_by_name=_optional(entry, "createdByName"),
        created_date=_optional(entry, "createdDate"),
        last_modified_by_id=_optional(entry, "lastModifiedById"),
        last_modified_by_name=_optional(entry, "lastModifiedByName"),
        last_modified_date=_optional(entry, "lastModifiedDate"),
    )


def _retrieve_result(result: etree._Element) -> RetrieveResult:
    encoded = "".join(_str(result, "zipFile").split())
    return RetrieveResult(
        id=_required(result, "id"),
        done=_bool(result, "done"),
        status=_str(result, "status"),
        success=_bool(result, "success"),
        zip_file=base64.b64decode(encoded, validate=True) if encoded else b"",
        file_properties=tuple(_file_properties(p) for p in _children(result, "fileProperties")),
        messages=tuple(
            RetrieveMessage(file_name=_str(m, "fileName"), problem=_str(m, "problem"))
            for m in _children(result, "messages")
        ),
        error_status_code=_optional(result, "errorStatusCode"),
        error_message=_optional(result, "errorMessage"),
    )


def _describe_result(result: etree._Element) -> DescribeMetadataResult:
    return DescribeMetadataResult(
        metadata_objects=tuple(
            MetadataObjectDescription(
                xml_name=_str(entry, "xmlName"),
                directory_name=_str(entry, "directoryName"),
                suffix=_optional(entry, "suffix"),
                in_folder=_bool(entry, "inFolder"),
                meta_file=_bool(entry, "metaFile"),
                child_xml_names=tuple(
                    (c.text or "").strip() for c in _children(entry, "childXmlNames")
                ),
            )
            for entry in _children(result, "metadataObjects")
        ),
        organization_namespace=_optional(result, "organizationNamespace"),
        partial_save_allowed=_bool(result, "partialSaveAllowed"),
        test_required=_bool(result, "testRequired"),
    )
