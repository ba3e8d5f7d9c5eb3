"""The REST sObject API of the local org: describes, records by Id or external ID, and sObject
Collections, all thin answers over ``records`` so REST and Bulk API 2.0 validate alike.

Single-record calls answer errors as ``[{"message", "errorCode", "fields"}]`` with the HTTP status
a real org uses; collections answer 200 with one SaveResult per record, in order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from toolkit.localorg import records
from toolkit.localorg.http import Handler, Request, Response, Router
from toolkit.localorg.ids import to18
from toolkit.localorg.records import FieldInfo, ObjectInfo, RecordError, RequestRefused
from toolkit.metadata import fieldtypes

if TYPE_CHECKING:
    from toolkit.localorg.org import Org

BASE = r"/services/data/v(?P<version>\d+\.\d)"
COLLECTION_LIMIT = 200
_CREATED_FLAG_SINCE = 46  # upserts answer ``created`` (and 200 on update) from API 46.0
_TEXT_BYTES = 3  # describe byteLength is three bytes per character of text fields
_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "time": "xsd:time",
    "address": "urn:address",
    "location": "urn:location",
}
_NUMERIC = frozenset({"double", "currency", "percent"})


def _errors(status: int, *errors: RecordError) -> Response:
    return Response.json(
        [{"message": e.message, "errorCode": e.code, "fields": list(e.fields)} for e in errors],
        status,
    )


def _error(status: int, code: str, message: str) -> Response:
    return Response.json([{"message": message, "errorCode": code}], status)


def _not_found() -> Response:
    return _error(404, "NOT_FOUND", "The requested resource does not exist")


def _refused(refusal: RequestRefused) -> Response:
    return _error(refusal.status, refusal.code, refusal.message)


def _body(request: Request) -> Any:
    try:
        return request.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestRefused("JSON_PARSER_ERROR", f"The request body is not JSON: {exc}") from None


def _record_body(request: Request) -> dict[str, Any]:
    body = _body(request)
    if not isinstance(body, dict):
        raise RequestRefused("JSON_PARSER_ERROR", "The request body must be a JSON object")
    return body


def _object(org: Org, name: str) -> ObjectInfo:
    found = records.describe(org, name)
    if found is None:
        raise RequestRefused("NOT_FOUND", "The requested resource does not exist", 404)
    return found


def _version(request: Request) -> int:
    return int(request.params["version"].split(".")[0])


def _sobject_url(request: Request, obj: str, record_id: str | None = None) -> str:
    base = f"/services/data/v{request.params['version']}/sobjects/{obj}"
    return base if record_id is None else f"{base}/{record_id}"


# --- describes -----------------------------------------------------------------------------------


def _object_summary(request: Request, row: Any) -> dict[str, Any]:
    name = str(row["name"])
    base = _sobject_url(request, name)
    return {
        "activateable": False,
        "createable": True,
        "custom": bool(row["custom"]),
        "customSetting": False,
        "deletable": True,
        "deprecatedAndHidden": False,
        "feedEnabled": False,
        "hasSubtypes": False,
        "isSubtype": False,
        "keyPrefix": row["key_prefix"],
        "label": row["label"],
        "labelPlural": row["plural_label"],
        "layoutable": True,
        "mergeable": False,
        "mruEnabled": False,
        "name": name,
        "queryable": True,
        "replicateable": True,
        "retrieveable": True,
        "searchable": True,
        "triggerable": True,
        "undeletable": True,
        "updateable": True,
        "urls": {
            "describe": f"{base}/describe",
            "rowTemplate": f"{base}/{{ID}}",
            "sobject": base,
        },
    }


def _global_describe(request: Request, org: Org) -> Response:
    return Response.json(
        {
            "encoding": "UTF-8",
            "maxBatchSize": COLLECTION_LIMIT,
            "sobjects": [_object_summary(request, row) for row in records.list_objects(org)],
        }
    )


def _length(field: FieldInfo) -> int:
    if field.type in ("id", "reference"):
        return 18
    if field.type in _NUMERIC or field.type in ("int", "boolean", "date", "datetime", "time"):
        return 0
    return field.length or 0


_CALCULATED = frozenset(name for name, t in fieldtypes.FIELD_TYPES.items() if t.calculated)


def describe_field(field: FieldInfo) -> dict[str, Any]:
    """A field as a describe reports it."""
    length = _length(field)
    default: Any = field.default_value
    if field.type == "boolean":
        default = (field.default_value or "false").strip().lower() == "true"
    system = field.name in records.SYSTEM_FIELDS or field.name == "OwnerId"
    return {
        "aggregatable": field.type != "textarea",
        "autoNumber": field.field_type == "AutoNumber",
        "byteLength": length if field.type in ("id", "reference") else length * _TEXT_BYTES,
        "calculated": field.formula is not None or field.field_type in _CALCULATED,
        "calculatedFormula": field.formula,
        "cascadeDelete": False,
        "caseSensitive": field.case_sensitive,
        "controllerName": None,
        "createable": field.createable,
        "custom": field.custom,
        "defaultValue": default,
        "defaultValueFormula": None,
        "defaultedOnCreate": system or field.type == "boolean",
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": (field.precision or 0) if field.type == "int" else 0,
        "externalId": field.external_id,
        "filterable": field.type != "textarea",
        "groupable": field.type not in _NUMERIC and field.type != "textarea",
        "htmlFormatted": field.field_type == "Html",
        "idLookup": field.id_lookup,
        "label": field.label,
        "length": length,
        "name": field.name,
        "nameField": field.name == "Name",
        "namePointing": False,
        "nillable": field.nillable and not system,
        "permissionable": field.custom and not field.required,
        "picklistValues": [
            {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
            for v in field.picklist_values
        ],
        "polymorphicForeignKey": len(field.reference_to) > 1,
        "precision": (field.precision or 0) if field.type in _NUMERIC else 0,
        "referenceTo": list(field.reference_to),
        "relationshipName": field.relationship_name,
        "relationshipOrder": 0 if field.master_detail else None,
        "restrictedPicklist": field.restricted,
        "scale": (field.scale or 0) if field.type in _NUMERIC else 0,
        "soapType": _SOAP_TYPES.get(field.type, "xsd:string"),
        "sortable": field.type != "textarea",
        "type": field.type,
        "unique": field.unique,
        "updateable": field.updateable,
        "writeRequiresMasterRead": False,
    }


def _child_relationships(org: Org, name: str) -> list[dict[str, Any]]:
    rows = org.store.connection().execute(
        "SELECT object, name, relationship_name, field_type FROM schema_fields "
        "WHERE type = 'reference' AND reference_to LIKE ? ORDER BY object, name",
        (f'%"{name}"%',),
    )
    return [
        {
            "cascadeDelete": row["field_type"] == "MasterDetail",
            "childSObject": row["object"],
            "deprecatedAndHidden": False,
            "field": row["name"],
            "relationshipName": (
                f"{row['relationship_name']}__r"
                if row["field_type"] in ("MasterDetail", "Lookup")
                else None
            ),
            "restrictedDelete": False,
        }
        for row in rows
    ]


def _describe(request: Request, org: Org) -> Response:
    obj = _object(org, request.params["object"])
    row = next(r for r in records.list_objects(org) if r["name"] == obj.name)
    answer = _object_summary(request, row)
    answer["fields"] = [describe_field(f) for f in obj.fields]
    answer["childRelationships"] = _child_relationships(org, obj.name)
    answer["recordTypeInfos"] = []
    return Response.json(answer)


def _basic_info(request: Request, org: Org) -> Response:
    obj = _object(org, request.params["object"])
    row = next(r for r in records.list_objects(org) if r["name"] == obj.name)
    return Response.json({"objectDescribe": _object_summary(request, row), "recentItems": []})


# --- single records ------------------------------------------------------------------------------


def _status_of(error: RecordError) -> int:
    return 404 if error.code in ("ENTITY_IS_DELETED", "NOT_FOUND") else 400


def _failed(result: records.SaveResult) -> Response:
    return _errors(_status_of(result.errors[0]), *result.errors)


def _create(request: Request, org: Org) -> Response:
    obj = _object(org, request.params["object"])
    (result,) = records.insert_many(org, obj.name, [_record_body(request)])
    if not result.success:
        return _failed(result)
    return Response.json(result.to_json(), 201)


def _record_id(request: Request, obj: ObjectInfo) -> str | Response:
    """The Id of the path, or the answer a real org gives for a bad one."""
    raw = unquote(request.params["id"])
    full = to18(raw)
    if full is None:
        return _error(
            404,
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {raw}",
        )
    if full[:3] != obj.key_prefix:
        return _errors(
            400,
            RecordError(
                "MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {raw}", ("Id",)
            ),
        )
    return full


def _live(org: Org, obj: ObjectInfo, record_id: str) -> dict[str, Any] | Response:
    found = records.get(org, obj.name, record_id, include_deleted=True)
    if found is None:
        return _not_found()
    if found.get("IsDeleted"):
        return _error(404, "ENTITY_IS_DELETED", "entity is deleted")
    return found


def _shape(request: Request, obj: ObjectInfo, data: dict[str, Any]) -> dict[str, Any]:
    """A record as REST returns it: attributes, then every field (or those asked), nulls kept."""
    wanted = request.query_value("fields")
    fields = list(obj.fields)
    if wanted:
        names = {n.strip().lower() for n in wanted.split(",") if n.strip()}
        fields = [f for f in fields if f.name.lower() in names]
    out: dict[str, Any] = {
        "attributes": {"type": obj.name, "url": _sobject_url(request, obj.name, data["Id"])}
    }
    for field in fields:
        out[field.name] = data.get(field.name)
    return out


def _read(request: Request, org: Org) -> Response:
    obj = _object(org, request.params["object"])
    record_id = _record_id(request, obj)
    if isinstance(record_id, Response):
        return record_id
    found = _live(org, obj, record_id)
    if isinstance(found, Response):
        return found
    return Response.json(_shape(request, obj, found))


def _update(request: Request, org: Org) -> Response:
    obj = _object(org, request.params["object"])
    record_id = _record_id(request, obj)
    if isinstance(record_id, Response):
        return record_id
    found = _live(org, obj, record_id)
    if isinstance(found, Response):
        return found
    body = {k: v for k, v in _record_body(request).items() if k.lower() != "id"}
    (result,) = records.update_many(org, obj.name, [{**body, "Id": record_id}])
    return Response(204) if result.success else _failed(result)


def _delete(request: Request, org: Org) -> Response:
    obj = _object(org, request.params["object"])
    record_id = _record_id(request, obj)
    if isinstance(record_id, Response):
        return record_id
    found = _live(org, obj, record_id)
    if isinstance(found, Response):
        return found
    (result,) = records.delete_many(org, obj.name, [record_id])
    return Response(204) if result.success else _failed(result)


def _by_key(request: Request, org: Org) -> Response:
    obj = _object(org, request.params["object"])
    field = records.external_id_field(org, obj.name, request.params["field"])
    matches = records.find_ids(org, obj.name, field.name, unquote(request.params["value"]))
    if not matches:
        return _not_found()
    if len(matches) > 1:
        return Response.json([_sobject_url(request, obj.name, i) for i in matches], 300)
    found = records.get(org, obj.name, matches[0])
    return _not_found() if found is None else Response.json(_shape(request, obj, found))


def _upsert(request: Request, org: Org) -> Response:
    obj = _object(org, request.params["object"])
    field = records.external_id_field(org, obj.name, request.params["field"])
    value = unquote(request.params["value"])
    body = _record_body(request)
    matches = records.find_ids(org, obj.name, field.name, value)
    if len(matches) > 1:
        return Response.json([_sobject_url(request, obj.name, i) for i in matches], 300)
    if field.name == "Id":
        body = {k: v for k, v in body.items() if k.lower() != "id"}
        if matches:
            (result,) = records.update_many(org, obj.name, [{**body, "Id": matches[0]}])
            result = records.SaveResult(result.id, result.success, result.errors, False)
        else:
            (result,) = records.insert_many(org, obj.name, [body])
            result = records.SaveResult(result.id, result.success, result.errors, True)
    else:
        row = {k: v for k, v in body.items() if k.lower() != field.name.lower()}
        row[field.name] = value
        (result,) = records.upsert_many(org, obj.name, field.name, [row])
    if not result.success:
        return _failed(result)
    if result.created:
        return Response.json(result.to_json(), 201)
    if _version(request) < _CREATED_FLAG_SINCE:
        return Response(204)
    return Response.json(result.to_json(), 200)


# --- sObject Collections -------------------------------------------------------------------------


def _collection(request: Request) -> tuple[list[dict[str, Any]], bool]:
    body = _record_body(request)
    rows = body.get("records")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise RequestRefused("JSON_PARSER_ERROR", "records must be a list of JSON objects")
    if len(rows) > COLLECTION_LIMIT:
        raise RequestRefused(
            "EXCEEDED_ID_LIMIT",
            f"Record limit reached. Cannot submit more than {COLLECTION_LIMIT} records into "
            "this call",
        )
    return rows, bool(body.get("allOrNone", False))


def _answer(results: list[records.SaveResult]) -> Response:
    return Response.json([r.to_json() for r in results])


def _collection_create(request: Request, org: Org) -> Response:
    rows, all_or_none = _collection(request)
    return _answer(records.insert_many(org, None, rows, all_or_none))


def _collection_update(request: Request, org: Org) -> Response:
    rows, all_or_none = _collection(request)
    return _answer(records.update_many(org, None, rows, all_or_none))


def _collection_upsert(request: Request, org: Org) -> Response:
    obj = _object(org, request.params["object"])
    rows, all_or_none = _collection(request)
    field = records.external_id_field(org, obj.name, request.params["field"])
    return _answer(records.upsert_many(org, obj.name, field.name, rows, all_or_none))


def _collection_delete(request: Request, org: Org) -> Response:
    ids = [i for i in (request.query_value("ids") or "").split(",") if i]
    if not ids:
        raise RequestRefused("MISSING_ARGUMENT", "ids parameter is required")
    if len(ids) > COLLECTION_LIMIT:
        raise RequestRefused(
            "EXCEEDED_ID_LIMIT",
            f"Record limit reached. Cannot submit more than {COLLECTION_LIMIT} records into "
            "this call",
        )
    all_or_none = (request.query_value("allOrNone") or "false").lower() == "true"
    return _answer(records.delete_many(org, None, ids, all_or_none))


# --- wiring --------------------------------------------------------------------------------------


def _guarded(handler: Handler) -> Handler:
    """Whole-call refusals from ``records`` become the error body a real org sends."""

    def run(request: Request, org: Org) -> Response:
        try:
            return handler(request, org)
        except RequestRefused as refusal:
            return _refused(refusal)

    return run


def register(router: Router) -> None:
    sobject = BASE + r"/sobjects/(?P<object>\w+)"
    routes = (
        ("GET", BASE + r"/sobjects/?", _global_describe, "rest.sobjects.describe_global"),
        ("GET", sobject + r"/describe/?", _describe, "rest.sobjects.describe"),
        ("GET", sobject + r"/?", _basic_info, "rest.sobjects.info"),
        ("POST", sobject + r"/?", _create, "rest.sobjects.create"),
        ("GET", sobject + r"/(?P<id>[^/]+)/?", _read, "rest.sobjects.get"),
        ("PATCH", sobject + r"/(?P<id>[^/]+)/?", _update, "rest.sobjects.update"),
        ("DELETE", sobject + r"/(?P<id>[^/]+)/?", _delete, "rest.sobjects.delete"),
        (
            "GET",
            sobject + r"/(?P<field>\w+)/(?P<value>[^/]+)/?",
            _by_key,
            "rest.sobjects.get_by_key",
        ),
        ("PATCH", sobject + r"/(?P<field>\w+)/(?P<value>[^/]+)/?", _upsert, "rest.sobjects.upsert"),
        ("POST", BASE + r"/composite/sobjects/?", _collection_create, "rest.collections.create"),
        ("PATCH", BASE + r"/composite/sobjects/?", _collection_update, "rest.collections.update"),
        ("DELETE", BASE + r"/composite/sobjects/?", _collection_delete, "rest.collections.delete"),
        (
            "PATCH",
            BASE + r"/composite/sobjects/(?P<object>\w+)/(?P<field>\w+)/?",
            _collection_upsert,
            "rest.collections.upsert",
        ),
    )
    for method, pattern, handler, name in routes:
        router.add(method, pattern, _guarded(handler), name=name)


def prepare(org: Org) -> None:
    """Nothing to make: the tables are declared by ``records`` and the schema is seeded."""
