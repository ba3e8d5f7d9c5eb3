"""The Metadata API on the wire: SOAP at ``/services/Soap/m/{version}`` and the REST
``metadata/deployRequest`` resource, both over the same deploy engine and component store.

SOAP calls carry their session in the envelope's SessionHeader, so the route is registered
without bearer authentication and checks the sessionId itself, answering a bad one with the
INVALID_SESSION_ID fault a real org gives.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from typing import TYPE_CHECKING, Any

from toolkit.localorg import apex, components, deploys, identity, retrieves, soap
from toolkit.localorg.deploys import DeployOptions, DeployRefused
from toolkit.localorg.http import Request, Response, Router
from toolkit.localorg.ids import to18
from toolkit.localorg.soap import SoapCall, SoapFault
from toolkit.metadata.files import METADATA_NS

if TYPE_CHECKING:
    from collections.abc import Callable

    from toolkit.localorg.org import Org

_REST_OPTIONS = {
    "allowMissingFiles": "allow_missing_files",
    "checkOnly": "check_only",
    "ignoreWarnings": "ignore_warnings",
    "purgeOnDelete": "purge_on_delete",
    "rollbackOnError": "rollback_on_error",
    "singlePackage": "single_package",
}


# --- SOAP ---------------------------------------------------------------------------------------


def _deploy_id(value: str | None) -> str:
    found = to18(value or "")
    if found is None:
        raise SoapFault("INVALID_ID_FIELD", "Invalid deploy ID")
    return found


def _deploy(org: Org, call: SoapCall) -> Response:
    zip_text = soap.text(call.element, "ZipFile")
    if not zip_text:
        raise SoapFault("Client", "The deploy call has no ZipFile element")
    data = deploys.decode_zip(zip_text)
    element = soap.child(call.element, "DeployOptions")
    options = DeployOptions()
    if element is not None:
        level = soap.text(element, "testLevel")
        options = DeployOptions(
            check_only=soap.boolean(soap.text(element, "checkOnly")),
            rollback_on_error=soap.boolean(soap.text(element, "rollbackOnError")),
            test_level=level or None,
            run_tests=tuple(
                (e.text or "").strip() for e in soap.children(element, "runTests") if e.text
            ),
            ignore_warnings=soap.boolean(soap.text(element, "ignoreWarnings")),
            purge_on_delete=soap.boolean(soap.text(element, "purgeOnDelete")),
            allow_missing_files=soap.boolean(soap.text(element, "allowMissingFiles")),
            single_package=soap.boolean(soap.text(element, "singlePackage"), True),
        )
    deploy_id = deploys.engine(org).submit(data, options)
    return soap.respond("deploy", [{"done": False, "id": deploy_id, "state": "Queued"}])


def _check_deploy_status(org: Org, call: SoapCall) -> Response:
    deploy_id = _deploy_id(soap.text(call.element, "asyncProcessId"))
    deploys.check_permission(org.facts)
    result = deploys.engine(org).status(deploy_id)
    if not soap.boolean(soap.text(call.element, "includeDetails")):
        result = deploys.strip_details(result)
    return soap.respond("checkDeployStatus", [apex.soap_view(result)])


def _cancel_deploy(org: Org, call: SoapCall) -> Response:
    deploy_id = _deploy_id(soap.text(call.element, "String"))
    return soap.respond("cancelDeploy", [deploys.engine(org).cancel(deploy_id)])


def _deploy_recent_validation(org: Org, call: SoapCall) -> Response:
    validation_id = _deploy_id(soap.text(call.element, "validationId"))
    return soap.respond("deployRecentValidation", [deploys.engine(org).quick_deploy(validation_id)])


def _retrieve(org: Org, call: SoapCall) -> Response:
    # The WSDL names the one argument retrieveRequest; sf and jsforce send it as <request>, and
    # orgs read the single argument element whatever its name.
    arguments = soap.elements(call.element)
    if len(arguments) != 1:
        raise SoapFault(
            "Client",
            f"The retrieve call takes one argument (a RetrieveRequest); it has {len(arguments)}",
        )
    element = arguments[0]
    types: dict[str, tuple[str, ...]] = {}
    package = soap.child(element, "unpackaged")
    if package is not None:
        for entry in soap.children(package, "types"):
            name = soap.text(entry, "name") or ""
            members = tuple((m.text or "").strip() for m in soap.children(entry, "members"))
            types[name] = types.get(name, ()) + members
    request = retrieves.RetrieveRequest(
        api_version=soap.text(element, "apiVersion") or org.facts.api_version_max,
        single_package=soap.boolean(soap.text(element, "singlePackage")),
        types=types,
        package_names=tuple(
            (e.text or "").strip() for e in soap.children(element, "packageNames") if e.text
        ),
    )
    retrieve_id = retrieves.start(org, request)
    return soap.respond("retrieve", [{"done": False, "id": retrieve_id, "state": "Queued"}])


def _check_retrieve_status(org: Org, call: SoapCall) -> Response:
    found = to18(soap.text(call.element, "asyncProcessId") or "")
    if found is None:
        raise SoapFault("INVALID_ID_FIELD", "Invalid retrieve ID")
    include_zip = soap.boolean(soap.text(call.element, "includeZip"), True)
    deploys.check_permission(org.facts)
    return soap.respond("checkRetrieveStatus", [retrieves.status(org, found, include_zip)])


def _list_metadata(org: Org, call: SoapCall) -> Response:
    queries = [
        (soap.text(q, "type") or "", soap.text(q, "folder"))
        for q in soap.children(call.element, "queries")
    ]
    return soap.respond("listMetadata", retrieves.list_metadata(org, queries))


def _describe_metadata(org: Org, call: SoapCall) -> Response:
    return soap.respond("describeMetadata", [retrieves.describe(org)])


_OPERATIONS: dict[str, Callable[[Org, SoapCall], Response]] = {
    "cancelDeploy": _cancel_deploy,
    "checkDeployStatus": _check_deploy_status,
    "checkRetrieveStatus": _check_retrieve_status,
    "deploy": _deploy,
    "deployRecentValidation": _deploy_recent_validation,
    "describeMetadata": _describe_metadata,
    "listMetadata": _list_metadata,
    "retrieve": _retrieve,
}


def _soap(request: Request, org: Org) -> Response:
    try:
        call = soap.parse_call(request.body)
        if not call.session_id or not identity.session_is_valid(org, call.session_id):
            raise SoapFault("INVALID_SESSION_ID", identity.ILLEGAL_SESSION)
        operation = _OPERATIONS.get(call.operation)
        if operation is None:
            raise SoapFault(
                "Client",
                f"No operation available for request {{{METADATA_NS}}}{call.operation}, please "
                "check the WSDL for the service.",
            )
        return operation(org, call)
    except DeployRefused as refused:
        return soap.fault_response(SoapFault(refused.code, refused.message))
    except SoapFault as fault:
        return soap.fault_response(fault)


# --- REST ---------------------------------------------------------------------------------------


def _rest_error(code: str, message: str, status: int = 400) -> Response:
    return Response.json([{"errorCode": code, "message": message}], status)


def _json_result(value: Any) -> Any:
    """A SOAP-shaped result as the REST resource writes it: no absent (None) members."""
    if isinstance(value, dict):
        return {k: _json_result(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_json_result(v) for v in value]
    return value


def _options_json(options: DeployOptions) -> dict[str, Any]:
    return {
        "allowMissingFiles": options.allow_missing_files,
        "autoUpdatePackage": False,
        "checkOnly": options.check_only,
        "ignoreWarnings": options.ignore_warnings,
        "performRetrieve": False,
        "purgeOnDelete": options.purge_on_delete,
        "rollbackOnError": options.rollback_on_error,
        "runTests": list(options.run_tests),
        "singlePackage": options.single_package,
        "testLevel": options.test_level,
    }


def _multipart(request: Request) -> tuple[dict[str, Any], bytes]:
    content_type = request.header("content-type")
    if not content_type.lower().startswith("multipart/"):
        raise DeployRefused("INVALID_MULTIPART_REQUEST", "Send multipart/form-data: json + file")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    options: dict[str, Any] = {}
    data: bytes | None = None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        if name == "json":
            try:
                parsed = json.loads(payload.decode("utf-8") or "{}")
            except (UnicodeDecodeError, ValueError) as exc:
                raise DeployRefused(
                    "JSON_PARSER_ERROR", f"the json part is not JSON: {exc}"
                ) from None
            if not isinstance(parsed, dict):
                raise DeployRefused("JSON_PARSER_ERROR", "the json part must be a JSON object")
            options = parsed.get("deployOptions") or {}
        elif name == "file":
            data = payload
    if data is None:
        raise DeployRefused("INVALID_MULTIPART_REQUEST", "the request has no 'file' part (the zip)")
    return options, data


def _rest_options(raw: dict[str, Any]) -> DeployOptions:
    if not isinstance(raw, dict):
        raise DeployRefused("JSON_PARSER_ERROR", "deployOptions must be a JSON object")
    values: dict[str, Any] = {}
    for key, attribute in _REST_OPTIONS.items():
        if key in raw:
            values[attribute] = bool(raw[key])
    tests = raw.get("runTests") or []
    return DeployOptions(
        test_level=raw.get("testLevel") or None,
        run_tests=tuple(str(t) for t in tests),
        **values,
    )


def _deploy_answer(org: Org, deploy_id: str, details: bool, status: int) -> Response:
    engine = deploys.engine(org)
    result = engine.status(deploy_id)
    options = DeployOptions.from_json(
        json.loads(
            org.store.connection()
            .execute("SELECT options FROM md_deploys WHERE id = ?", (deploy_id,))
            .fetchone()["options"]
        )
    )
    if not details:
        result = deploys.strip_details(result)
    body = {
        "id": deploy_id,
        "validatedDeployRequestId": None,
        "deployOptions": _options_json(options),
        "deployResult": _json_result(result),
    }
    url = f"/services/data/v{org.facts.api_version_max}/metadata/deployRequest/{deploy_id}"
    return Response.json(body, status, headers=(("Location", url),))


def _rest_deploy(request: Request, org: Org) -> Response:
    try:
        raw, data = _multipart(request)
        deploy_id = deploys.engine(org).submit(data, _rest_options(raw))
        return _deploy_answer(org, deploy_id, False, 201)
    except DeployRefused as refused:
        return _rest_error(refused.code, refused.message)


def _rest_deploy_status(request: Request, org: Org) -> Response:
    deploy_id = to18(request.params["id"])
    if deploy_id is None:
        return _rest_error("NOT_FOUND", "The requested resource does not exist", 404)
    details = (request.query_value("includeDetails") or "").lower() == "true"
    try:
        deploys.check_permission(org.facts)
        return _deploy_answer(org, deploy_id, details, 200)
    except DeployRefused as refused:
        if refused.code == "INVALID_ID_FIELD":
            return _rest_error("NOT_FOUND", "The requested resource does not exist", 404)
        return _rest_error(refused.code, refused.message)


def _rest_quick_deploy(request: Request, org: Org) -> Response:
    validation_id = to18(request.params["id"])
    if validation_id is None:
        return _rest_error("NOT_FOUND", "The requested resource does not exist", 404)
    try:
        deploy_id = deploys.engine(org).quick_deploy(validation_id)
        return _deploy_answer(org, deploy_id, False, 201)
    except DeployRefused as refused:
        return _rest_error(refused.code, refused.message)


def _rest_cancel(request: Request, org: Org) -> Response:
    deploy_id = to18(request.params["id"])
    try:
        body = request.json()
    except (UnicodeDecodeError, ValueError):
        body = None
    wanted = (body or {}).get("deployResult", {}).get("status") if isinstance(body, dict) else None
    if wanted != "Canceling":
        return _rest_error(
            "INVALID_FIELD", 'To cancel a deploy, send {"deployResult": {"status": "Canceling"}}'
        )
    if deploy_id is None:
        return _rest_error("NOT_FOUND", "The requested resource does not exist", 404)
    try:
        deploys.engine(org).cancel(deploy_id)
        return _deploy_answer(org, deploy_id, False, 202)
    except DeployRefused as refused:
        return _rest_error(refused.code, refused.message)


# --- module interface ---------------------------------------------------------------------------

_REST_BASE = r"/services/data/v(?P<version>\d+\.\d)/metadata/deployRequest"


def register(router: Router) -> None:
    router.add(
        "POST",
        r"/services/Soap/m/(?P<version>\d+\.\d)(?:/[^/]*)*",
        _soap,
        name="soap.metadata",
        authenticated=False,
    )
    router.add("POST", _REST_BASE + r"/?", _rest_deploy, name="rest.metadata.deploy")
    router.add(
        "GET", _REST_BASE + r"/(?P<id>\w+)/?", _rest_deploy_status, name="rest.metadata.status"
    )
    router.add(
        "POST", _REST_BASE + r"/(?P<id>\w+)/?", _rest_quick_deploy, name="rest.metadata.quick"
    )
    router.add("PATCH", _REST_BASE + r"/(?P<id>\w+)/?", _rest_cancel, name="rest.metadata.cancel")


def prepare(org: Org) -> None:
    """A new org gets its standard objects and layouts; queued deploys resume."""
    components.seed(org.store)
    deploys.resume(org)
