"""Rendering specs to Metadata API XML: content per field type, files, order, overrides, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from toolkit.errors import ConfigError, TemplateError
from toolkit.metadata import fieldtypes, formats, manifest, xmlsafe
from toolkit.metadata.files import METADATA_NS, MetadataFile
from toolkit.metadata.render import (
    FIELD_TEMPLATE,
    OBJECT_TEMPLATE,
    TEMPLATE_NAMES,
    WEB_LINK_TEMPLATE,
    FieldPermissions,
    FieldXml,
    Renderer,
    ValueSetXml,
    builtin_template_dir,
    permission_set_contents,
)
from toolkit.metadata.schema import MetadataSchema
from toolkit.metadata.specs import (
    OBJECT_PERMISSIONS,
    FieldSpec,
    LayoutItemSpec,
    LayoutSectionSpec,
    LayoutSpec,
    NameFieldSpec,
    ObjectAccessSpec,
    ObjectSpec,
    PermissionSetSpec,
    PicklistValue,
    RelatedListSpec,
    TabSpec,
    WebLinkSpec,
)

NS = {"m": METADATA_NS}
SRC = "objects/Voyage__c.toml"


def _f(name: str, type_: str, src: str = SRC, **options: object) -> FieldSpec:
    label = name.removesuffix("__c").replace("_", " ")
    source = f"{src} [fields.{name}]"
    return FieldSpec(name=name, type=type_, label=label, source=source, **options)  # type: ignore[arg-type]


# One field per type of the table, each with its type-specific options; Number, Percent and
# Html leave their sizes out so the table's defaults show, Hull_Code__c keeps a too-long length.
VOYAGE_FIELDS = (
    _f(
        "Code__c",
        "Text",
        length=40,
        unique=True,
        case_sensitive=True,
        external_id=True,
        required=True,
        help_text="Harbour code",
        description="Unique per voyage",
    ),
    _f("Hull_Code__c", "Text", length=300),
    _f("Summary__c", "TextArea", default_value='"tbd"'),
    _f("Log__c", "LongTextArea", length=5000, visible_lines=7),
    _f("Brochure__c", "Html"),
    _f("Purser_Email__c", "Email", unique=True),
    _f("Bridge_Phone__c", "Phone"),
    _f("Map__c", "Url"),
    _f("Berths__c", "Number"),
    _f("Fare__c", "Currency", precision=12, scale=2),
    _f("Discount__c", "Percent"),
    _f("Sold_Out__c", "Checkbox"),
    _f("Featured__c", "Checkbox", default_value="true"),
    _f("Departs_On__c", "Date", default_value="TODAY()"),
    _f("Boarding__c", "DateTime", track_history=True),
    _f("Curfew__c", "Time"),
    _f(
        "Cabin_Class__c",
        "Picklist",
        values=(
            PicklistValue("Deck", "Deck"),
            PicklistValue("Suite", "Owner's Suite", default=True),
        ),
        restricted=True,
    ),
    _f(
        "Ports__c",
        "MultiselectPicklist",
        values=(PicklistValue("Oslo", "Oslo"), PicklistValue("Bergen", "Bergen")),
        sorted=True,
        visible_lines=5,
    ),
    _f(
        "Captain__c",
        "Lookup",
        reference_to="Contact",
        relationship_name="Voyages",
        relationship_label="Voyages",
        delete_constraint="Restrict",
    ),
    _f(
        "Ship__c",
        "MasterDetail",
        reference_to="Ship__c",
        relationship_name="Voyages",
        relationship_label="Voyages",
        reparentable=True,
        write_requires_master_read=True,
    ),
    _f("Ticket__c", "AutoNumber", display_format="T-{00000}", starting_number=500),
    _f(
        "Fare_Per_Berth__c",
        "Formula",
        formula="Fare__c / Berths__c",
        returns="Currency",
        blank_as="blank",
    ),
    _f("Legs__c", "Summary", summary_operation="count", summary_foreign_key="Leg__c.Voyage__c"),
    _f("Home_Port__c", "Location", scale=4),
    _f("Passport_No__c", "EncryptedText", length=20, mask_type="lastFour"),
)

VOYAGE_LINKS = (
    WebLinkSpec(
        name="Track_Ship",
        label="Track ship",
        url="https://tracker.example/?imo={!Voyage__c.Name}&zoom=3",
        description="Opens the tracker",
    ),
    WebLinkSpec(
        name="Bulk_Rebook",
        label="Rebook",
        url="/apex/Rebook",
        display_type="massActionButton",
        open_type="replace",
        protected=True,
    ),
)

VOYAGE_LAYOUT = LayoutSpec(
    object="Voyage__c",
    name="Voyage Layout",
    sections=(
        LayoutSectionSpec(
            label="Basics",
            columns=(
                (LayoutItemSpec("Name", "Required"), LayoutItemSpec("Code__c")),
                (LayoutItemSpec("Ticket__c", "Readonly"),),
            ),
        ),
        LayoutSectionSpec(
            label="Notes",
            columns=((LayoutItemSpec("Log__c"),),),
            style="OneColumn",
            edit_heading=False,
        ),
        LayoutSectionSpec(label="Spare", columns=((), ()), detail_heading=False),
    ),
    related_lists=(
        RelatedListSpec(
            name="Booking__c.Voyage__c",
            fields=("NAME", "Booking__c.Seat__c"),
            buttons=("New",),
            sort_field="NAME",
            sort_order="Desc",
        ),
        RelatedListSpec(name="RelatedNoteList"),
    ),
    buttons=("Bulk_Rebook",),
    custom_links=("Track_Ship",),
    source=f"{SRC} [layouts.Voyage Layout]",
)

VOYAGE = ObjectSpec(
    name="Voyage__c",
    label="Voyage",
    plural_label="Voyages",
    description="A ship's trip",
    name_field=NameFieldSpec("Voyage Number", "AutoNumber", "V-{0000}", 10),
    enable_history=True,
    fields=VOYAGE_FIELDS,
    layouts=(VOYAGE_LAYOUT,),
    web_links=VOYAGE_LINKS,
    tab=TabSpec(motif="Custom20: Airplane", description="All voyages"),
    access=(
        ObjectAccessSpec("Fleet_Ops", ("create", "read", "edit"), ("*",), ("*",)),
        ObjectAccessSpec("Auditor", ("read", "view_all"), ("*",)),
    ),
    source=SRC,
)

SHIP = ObjectSpec(
    name="Ship__c",
    label="Ship",
    plural_label="Ships",
    name_field=NameFieldSpec("Ship Name"),
    sharing_model="Private",
    fields=(_f("Tonnage__c", "Number", precision=9, scale=0, required=True), _f("Flag__c", "Text")),
    access=(
        ObjectAccessSpec(
            "Fleet_Ops",
            ("create", "read", "edit", "delete", "view_all", "modify_all"),
            ("Tonnage__c", "Flag__c"),
            ("Flag__c",),
        ),
    ),
    source="objects/Ship__c.toml",
)

CONTACT = ObjectSpec(
    name="Contact",
    fields=(_f("Seaman_Book__c", "Text", length=20, external_id=True),),
    web_links=(WebLinkSpec("Crew_Card", "Crew card", "/apex/Crew?id={!Contact.Id}"),),
    layouts=(
        LayoutSpec(
            object="Contact",
            name="Crew Layout",
            sections=(LayoutSectionSpec("Crew", ((LayoutItemSpec("Seaman_Book__c"),),)),),
        ),
    ),
    access=(ObjectAccessSpec("Fleet_Ops", ("read",), ("Seaman_Book__c",)),),
    source="objects/Contact.toml",
)

PERMISSION_SETS = (
    PermissionSetSpec("Fleet_Ops", "Fleet operations", "Runs the fleet"),
    PermissionSetSpec("Harbour_Master", "Harbour master"),
)


@pytest.fixture(scope="module")
def files() -> dict[str, MetadataFile]:
    rendered = Renderer().render([VOYAGE, SHIP, CONTACT], PERMISSION_SETS)
    return {f.path: f for f in rendered}


def _root(files: dict[str, MetadataFile], path: str) -> etree._Element:
    return xmlsafe.parse(files[path].content, path)


def _children(element: etree._Element) -> dict[str, str]:
    """Simple child elements as tag -> text (the last wins for repeated tags)."""
    return {etree.QName(c).localname: c.text or "" for c in element if len(c) == 0}


def _find(element: etree._Element, path: str) -> etree._Element:
    found = element.find(path, NS)
    assert found is not None, path
    return found


def _text(element: etree._Element, path: str) -> str:
    return element.findtext(path, default="", namespaces=NS)


def _tags(element: etree._Element) -> list[str]:
    return [etree.QName(c).localname for c in element]


def _field(files: dict[str, MetadataFile], obj: str, name: str) -> etree._Element:
    root = _root(files, f"objects/{obj}.object")
    found = [f for f in root.iterfind("m:fields", NS) if _text(f, "m:fullName") == name]
    assert len(found) == 1, name
    return found[0]


def test_renders_the_expected_files_sorted_with_origins(files: dict[str, MetadataFile]) -> None:
    assert list(files) == [
        "layouts/Contact-Crew Layout.layout",
        "layouts/Voyage__c-Voyage Layout.layout",
        "objects/Contact.object",
        "objects/Ship__c.object",
        "objects/Voyage__c.object",
        "permissionsets/Auditor.permissionset",
        "permissionsets/Fleet_Ops.permissionset",
        "permissionsets/Harbour_Master.permissionset",
        "tabs/Voyage__c.tab",
    ]
    assert files["objects/Voyage__c.object"].origin == SRC
    assert files["layouts/Voyage__c-Voyage Layout.layout"].origin == VOYAGE_LAYOUT.source
    assert files["layouts/Contact-Crew Layout.layout"].origin == "objects/Contact.toml"
    assert files["permissionsets/Fleet_Ops.permissionset"].origin == (
        "objects/Contact.toml, objects/Ship__c.toml, objects/Voyage__c.toml"
    )


def test_every_file_is_valid_against_the_metadata_schema_as_written(
    files: dict[str, MetadataFile], metadata_schema: MetadataSchema
) -> None:
    """Valid for lxml as it stands, in the WSDL's element order: an org would also take other
    orders, but sftk writes the one order so that output is stable and diffs are small."""
    rendered_types = {f.type for f in VOYAGE_FIELDS}
    assert rendered_types == set(fieldtypes.FIELD_TYPE_NAMES)
    for file in files.values():
        tree = etree.fromstring(file.content, xmlsafe.parser())
        assert [e.message for e in metadata_schema.errors(tree)] == [], file.path


def test_output_style_is_the_shared_serialisation(files: dict[str, MetadataFile]) -> None:
    for path, file in files.items():
        text = file.content.decode("utf-8")
        head = text.partition("\n")[0]
        assert head == '<?xml version="1.0" encoding="UTF-8"?>', path
        assert text.endswith(">\n") and "\n\n" not in text and "\t" not in text, path
        root = xmlsafe.parse(file.content, path)
        assert root.nsmap == {None: METADATA_NS}
        assert formats.serialize(root, path) == file.content, path


def test_field_children_follow_schema_order(files: dict[str, MetadataFile]) -> None:
    root = _root(files, "objects/Voyage__c.object")
    for field in root.iterfind("m:fields", NS):
        tags = _tags(field)
        assert tags[0] == "fullName"
        assert tags[1:] == sorted(tags[1:])


@pytest.mark.parametrize(
    ("name", "expected", "absent"),
    [
        (
            "Code__c",
            {
                "type": "Text",
                "length": "40",
                "unique": "true",
                "caseSensitive": "true",
                "externalId": "true",
                "required": "true",
                "inlineHelpText": "Harbour code",
                "description": "Unique per voyage",
                "label": "Code",
            },
            {"precision", "visibleLines", "defaultValue"},
        ),
        ("Hull_Code__c", {"length": "300", "unique": "false"}, {"caseSensitive"}),
        ("Summary__c", {"type": "TextArea", "defaultValue": '"tbd"'}, {"length"}),
        (
            "Log__c",
            {"type": "LongTextArea", "length": "5000", "visibleLines": "7"},
            {"required", "unique", "externalId"},
        ),
        (
            "Brochure__c",
            {
                "type": "Html",
                "length": str(fieldtypes.FIELD_TYPES["Html"].default_length),
                "visibleLines": str(fieldtypes.FIELD_TYPES["Html"].default_visible_lines),
            },
            {"required"},
        ),
        ("Purser_Email__c", {"type": "Email", "unique": "true", "externalId": "false"}, set()),
        ("Bridge_Phone__c", {"type": "Phone", "required": "false"}, {"length", "unique"}),
        ("Map__c", {"type": "Url"}, {"length"}),
        (
            "Berths__c",
            {"type": "Number", **dict(fieldtypes.FIELD_TYPES["Number"].xml_defaults)},
            {"length"},
        ),
        ("Fare__c", {"type": "Currency", "precision": "12", "scale": "2"}, set()),
        (
            "Discount__c",
            {"type": "Percent", **dict(fieldtypes.FIELD_TYPES["Percent"].xml_defaults)},
            set(),
        ),
        ("Sold_Out__c", {"type": "Checkbox", "defaultValue": "false"}, {"required"}),
        ("Featured__c", {"defaultValue": "true"}, set()),
        ("Departs_On__c", {"type": "Date", "defaultValue": "TODAY()"}, set()),
        ("Boarding__c", {"type": "DateTime", "trackHistory": "true"}, set()),
        ("Curfew__c", {"type": "Time"}, {"trackHistory"}),
        ("Cabin_Class__c", {"type": "Picklist", "required": "false"}, {"defaultValue"}),
        ("Ports__c", {"type": "MultiselectPicklist", "visibleLines": "5"}, set()),
        (
            "Captain__c",
            {
                "type": "Lookup",
                "referenceTo": "Contact",
                "relationshipName": "Voyages",
                "relationshipLabel": "Voyages",
                "deleteConstraint": "Restrict",
                "required": "false",
            },
            {"relationshipOrder", "reparentableMasterDetail"},
        ),
        (
            "Ship__c",
            {
                "type": "MasterDetail",
                "referenceTo": "Ship__c",
                "relationshipName": "Voyages",
                "relationshipLabel": "Voyages",
                "relationshipOrder": "0",
                "reparentableMasterDetail": "true",
                "writeRequiresMasterRead": "true",
            },
            {"required", "deleteConstraint"},
        ),
        (
            "Ticket__c",
            {
                "type": "AutoNumber",
                "displayFormat": "T-{00000}",
                "startingNumber": "500",
                "externalId": "false",
            },
            {"required", "unique", "length"},
        ),
    ],
)
def test_field_elements_per_type(
    files: dict[str, MetadataFile], name: str, expected: dict[str, str], absent: set[str]
) -> None:
    children = _children(_field(files, "Voyage__c", name))
    assert {k: children.get(k) for k in expected} == expected
    assert not absent & set(children)


def test_field_xml_decides_each_element_from_spec_and_type() -> None:
    text = FieldXml(_f("Code__c", "Text", description="", help_text=""))
    assert (text.full_name, text.label, text.type) == ("Code__c", "Code", "Text")
    assert (text.length, text.precision, text.scale, text.visible_lines) == (
        fieldtypes.TEXT_MAX,
        None,
        None,
        None,
    )
    assert (text.unique, text.external_id, text.required, text.case_sensitive) == (
        False,
        False,
        False,
        None,
    )
    assert (text.description, text.inline_help_text, text.track_history) == (None, None, None)
    assert text.value_set is None and text.relationship_order is None
    checkbox = FieldXml(_f("Done__c", "Checkbox"))
    assert (checkbox.default_value, checkbox.required, checkbox.unique) == ("false", None, None)
    # What a spec gives is kept where the type takes no such element: the rules report it.
    odd = FieldXml(_f("Done__c", "Checkbox", required=True, length=3, scale=1))
    assert (odd.required, odd.length, odd.scale) == (True, 3, 1)
    master = FieldXml(
        _f("Ship__c", "MasterDetail", reference_to="Ship__c", relationship_name="Voyages"), 1
    )
    assert (
        master.relationship_order,
        master.reparentable_master_detail,
        master.write_requires_master_read,
    ) == (1, False, False)
    lookup = FieldXml(_f("Captain__c", "Lookup", reference_to="Contact", relationship_name="V"))
    assert (lookup.relationship_order, lookup.reparentable_master_detail) == (None, None)
    deck = PicklistValue("Deck", "Deck")
    picklist = FieldXml(_f("Cabin__c", "Picklist", values=(deck,), sorted=True))
    assert picklist.value_set == ValueSetXml(None, True, (deck,))
    restricted = FieldXml(_f("Cabin__c", "Picklist", values=(deck,), restricted=True))
    assert restricted.value_set == ValueSetXml(True, False, (deck,))


def test_picklist_value_sets(files: dict[str, MetadataFile]) -> None:
    value_set = _find(_field(files, "Voyage__c", "Cabin_Class__c"), "m:valueSet")
    assert _tags(value_set) == ["restricted", "valueSetDefinition"]
    assert _text(value_set, "m:restricted") == "true"
    definition = _find(value_set, "m:valueSetDefinition")
    assert _text(definition, "m:sorted") == "false"
    values = [_children(v) for v in definition.iterfind("m:value", NS)]
    assert values == [
        {"fullName": "Deck", "default": "false", "label": "Deck"},
        {"fullName": "Suite", "default": "true", "label": "Owner's Suite"},
    ]
    multi = _find(_field(files, "Voyage__c", "Ports__c"), "m:valueSet")
    assert _tags(multi) == ["valueSetDefinition"]
    assert _text(multi, "m:valueSetDefinition/m:sorted") == "true"


def test_custom_object_elements(files: dict[str, MetadataFile]) -> None:
    root = _root(files, "objects/Voyage__c.object")
    top = _children(root)
    assert {k: top[k] for k in ("enableBulkApi", "enableSharing", "enableStreamingApi")} == {
        "enableBulkApi": "true",
        "enableSharing": "true",
        "enableStreamingApi": "true",
    }
    assert top["sharingModel"] == "ControlledByParent"
    assert top["visibility"] == "Public"
    assert top["deploymentStatus"] == "Deployed"
    assert top["enableHistory"] == "true"
    assert top["enableActivities"] == "false"
    assert (top["label"], top["pluralLabel"], top["description"]) == (
        "Voyage",
        "Voyages",
        "A ship's trip",
    )
    assert _children(_find(root, "m:nameField")) == {
        "displayFormat": "V-{0000}",
        "label": "Voyage Number",
        "startingNumber": "10",
        "type": "AutoNumber",
    }
    field_names = [_text(f, "m:fullName") for f in root.iterfind("m:fields", NS)]
    assert field_names == sorted(f.name for f in VOYAGE_FIELDS)
    link_names = [_text(w, "m:fullName") for w in root.iterfind("m:webLinks", NS)]
    assert link_names == ["Bulk_Rebook", "Track_Ship"]
    tags = _tags(root)
    assert tags == sorted(tags)

    ship = _root(files, "objects/Ship__c.object")
    assert _children(ship)["sharingModel"] == "Private"
    assert _children(_find(ship, "m:nameField")) == {"label": "Ship Name", "type": "Text"}


def test_sharing_model_defaults_to_read_write_without_master_detail() -> None:
    spec = ObjectSpec(
        name="Port__c", label="Port", plural_label="Ports", fields=(_f("X__c", "Date"),)
    )
    (file,) = Renderer().render([spec])
    assert b"<sharingModel>ReadWrite</sharingModel>" in file.content


def test_junction_object_numbers_its_master_detail_fields() -> None:
    spec = ObjectSpec(
        name="Crewing__c",
        label="Crewing",
        plural_label="Crewings",
        fields=(
            _f("Voyage__c", "MasterDetail", reference_to="Voyage__c", relationship_name="Crew"),
            _f("Sailor__c", "MasterDetail", reference_to="Contact", relationship_name="Crewings"),
        ),
    )
    files = {f.path: f for f in Renderer().render([spec])}
    orders = {
        name: _children(_field(files, "Crewing__c", name))["relationshipOrder"]
        for name in ("Voyage__c", "Sailor__c")
    }
    assert orders == {"Voyage__c": "0", "Sailor__c": "1"}


def test_web_links(files: dict[str, MetadataFile]) -> None:
    root = _root(files, "objects/Voyage__c.object")
    links = {_text(w, "m:fullName"): w for w in root.iterfind("m:webLinks", NS)}
    track = _children(links["Track_Ship"])
    assert track["url"] == "https://tracker.example/?imo={!Voyage__c.Name}&zoom=3"
    assert (track["masterLabel"], track["openType"], track["displayType"]) == (
        "Track ship",
        "newWindow",
        "link",
    )
    assert (track["availability"], track["linkType"], track["protected"]) == (
        "online",
        "url",
        "false",
    )
    assert track["height"] == "600" and track["description"] == "Opens the tracker"
    rebook = _children(links["Bulk_Rebook"])
    assert rebook["protected"] == "true" and rebook["requireRowSelection"] == "true"
    assert "height" not in rebook and "description" not in rebook


def test_standard_object_gets_only_fields_and_links(files: dict[str, MetadataFile]) -> None:
    root = _root(files, "objects/Contact.object")
    assert _tags(root) == ["fields", "webLinks"]
    assert _children(_find(root, "m:fields"))["externalId"] == "true"


def test_standard_object_without_fields_or_links_writes_no_object_file() -> None:
    spec = ObjectSpec(name="Account", access=(ObjectAccessSpec("Viewer", ("read",)),))
    paths = [f.path for f in Renderer().render([spec])]
    assert paths == ["permissionsets/Viewer.permissionset"]


def test_layout(files: dict[str, MetadataFile]) -> None:
    root = _root(files, "layouts/Voyage__c-Voyage Layout.layout")
    assert _tags(root) == ["customButtons", *["layoutSections"] * 4, *["relatedLists"] * 2]
    assert _text(root, "m:customButtons") == "Bulk_Rebook"
    basics, notes, spare, links = root.iterfind("m:layoutSections", NS)
    assert _tags(basics) == [
        "detailHeading",
        "editHeading",
        "label",
        "layoutColumns",
        "layoutColumns",
        "style",
    ]
    assert _children(basics) == {
        "detailHeading": "true",
        "editHeading": "true",
        "label": "Basics",
        "style": "TwoColumnsTopToBottom",
    }
    columns = [
        [_children(item) for item in column.iterfind("m:layoutItems", NS)]
        for column in basics.iterfind("m:layoutColumns", NS)
    ]
    assert columns == [
        [{"behavior": "Required", "field": "Name"}, {"behavior": "Edit", "field": "Code__c"}],
        [{"behavior": "Readonly", "field": "Ticket__c"}],
    ]
    assert _children(notes)["style"] == "OneColumn" and _children(notes)["editHeading"] == "false"
    assert _children(spare)["detailHeading"] == "false"
    assert [len(c) for c in spare.iterfind("m:layoutColumns", NS)] == [0, 0]
    assert _children(links)["style"] == "CustomLinks"
    assert _children(links)["label"] == "Custom Links"
    assert links.xpath("m:layoutColumns/m:layoutItems/m:customLink/text()", namespaces=NS) == [
        "Track_Ship"
    ]
    assert len(links.findall("m:layoutColumns", NS)) == 3
    first, second = root.iterfind("m:relatedLists", NS)
    assert _tags(first) == [
        "customButtons",
        "fields",
        "fields",
        "relatedList",
        "sortField",
        "sortOrder",
    ]
    assert [c.text for c in first] == [
        "New",
        "NAME",
        "Booking__c.Seat__c",
        "Booking__c.Voyage__c",
        "NAME",
        "Desc",
    ]
    assert _tags(second) == ["relatedList"]


def test_permission_sets_aggregate_every_object(files: dict[str, MetadataFile]) -> None:
    root = _root(files, "permissionsets/Fleet_Ops.permissionset")
    assert _children(root)["label"] == "Fleet operations"
    assert _children(root)["description"] == "Runs the fleet"
    objects = {_text(o, "m:object"): _children(o) for o in root.iterfind("m:objectPermissions", NS)}
    assert list(objects) == ["Contact", "Ship__c", "Voyage__c"]
    assert objects["Ship__c"] == {
        "allowCreate": "true",
        "allowDelete": "true",
        "allowEdit": "true",
        "allowRead": "true",
        "modifyAllRecords": "true",
        "object": "Ship__c",
        "viewAllRecords": "true",
    }
    assert objects["Voyage__c"]["allowDelete"] == "false"
    assert objects["Contact"]["allowRead"] == "true" and objects["Contact"]["allowEdit"] == "false"
    grants = {
        _text(p, "m:field"): (
            _text(p, "m:readable"),
            _text(p, "m:editable"),
        )
        for p in root.iterfind("m:fieldPermissions", NS)
    }
    assert list(grants) == sorted(grants)
    # Explicit lists as given, edit implying read.
    assert grants["Ship__c.Flag__c"] == ("true", "true")
    assert grants["Ship__c.Tonnage__c"] == ("true", "false")
    assert grants["Contact.Seaman_Book__c"] == ("true", "false")
    # "*" skips required and master-detail fields, and auto-numbers for edit.
    voyage = {k.removeprefix("Voyage__c."): v for k, v in grants.items() if k.startswith("Voyage")}
    grantable = {f.name for f in VOYAGE_FIELDS} - {"Code__c", "Ship__c"}
    assert set(voyage) == grantable
    computed = {"Ticket__c", "Fare_Per_Berth__c", "Legs__c"}  # auto-number, formula, roll-up
    assert all(voyage[k] == ("true", "false") for k in computed)
    assert all(v == ("true", "true") for k, v in voyage.items() if k not in computed)


def test_permission_set_labels_default_from_names(files: dict[str, MetadataFile]) -> None:
    auditor = _root(files, "permissionsets/Auditor.permissionset")
    assert _children(auditor)["label"] == "Auditor"
    assert "description" not in _children(auditor)
    assert all(
        _text(p, "m:editable") == "false" for p in auditor.iterfind("m:fieldPermissions", NS)
    )
    spec = ObjectSpec(name="Cargo__c", access=(ObjectAccessSpec("Port_Agent", ("read",)),))
    (content,) = permission_set_contents([spec])
    assert content.label == "Port Agent"
    harbour = _root(files, "permissionsets/Harbour_Master.permissionset")
    assert _tags(harbour) == ["label"]


def test_field_grants_are_names_until_written() -> None:
    (_, fleet, _) = permission_set_contents([VOYAGE, SHIP, CONTACT], PERMISSION_SETS)
    assert fleet.name == "Fleet_Ops"
    assert list(fleet.readable_fields) == sorted(fleet.readable_fields)
    assert fleet.editable_fields <= set(fleet.readable_fields)
    assert "Voyage__c.Ticket__c" in set(fleet.readable_fields) - fleet.editable_fields
    grants = list(fleet.field_permissions)
    assert [g.field for g in grants] == list(fleet.readable_fields)
    assert grants[0] == FieldPermissions("Contact.Seaman_Book__c", editable=False, readable=True)
    assert list(fleet.field_permissions) == grants  # each reading starts afresh


def test_permission_names_all_map_to_xml_flags() -> None:
    spec = ObjectSpec(name="Cargo__c", access=(ObjectAccessSpec("All", OBJECT_PERMISSIONS),))
    (content,) = permission_set_contents([spec])
    (granted,) = content.object_permissions
    assert all(getattr(granted, a) for a in vars(granted) if a != "object")


def test_unknown_permission_and_field_type_are_config_errors() -> None:
    bad_permission = ObjectSpec(name="Cargo__c", access=(ObjectAccessSpec("X", ("fly",)),))
    with pytest.raises(ConfigError, match="unknown object permission 'fly'"):
        Renderer().render([bad_permission])
    bad_type = ObjectSpec(name="Cargo__c", fields=(_f("Weight__c", "Float"),), source="c.toml")
    with pytest.raises(ConfigError, match=r"Cargo__c\.Weight__c has unknown type 'Float'"):
        Renderer().render([bad_type])


def test_two_specs_for_one_file_are_refused() -> None:
    spec = ObjectSpec(name="Cargo__c", label="Cargo", plural_label="Cargo", source="a.toml")
    with pytest.raises(ConfigError, match=r"objects/Cargo__c\.object"):
        Renderer().render([spec, ObjectSpec("Cargo__c", "Freight", "Freight", source="b.toml")])


def test_tab(files: dict[str, MetadataFile]) -> None:
    root = _root(files, "tabs/Voyage__c.tab")
    assert _tags(root) == ["customObject", "description", "motif"]
    assert _children(root) == {
        "customObject": "true",
        "description": "All voyages",
        "motif": "Custom20: Airplane",
    }
    standard = ObjectSpec(name="Account", fields=(_f("Fleet__c", "Text"),), tab=TabSpec())
    assert [f.path for f in Renderer().render([standard])] == ["objects/Account.object"]


def test_rendering_is_deterministic(files: dict[str, MetadataFile]) -> None:
    again = Renderer().render([CONTACT, SHIP, VOYAGE], tuple(reversed(PERMISSION_SETS)))
    assert [(f.path, f.content) for f in again] == [(p, f.content) for p, f in files.items()]


def test_builtin_templates_are_one_per_type() -> None:
    names = sorted(p.name for p in builtin_template_dir().iterdir())
    assert names == sorted(TEMPLATE_NAMES)
    assert len(names) == 15


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


SMALL = ObjectSpec(
    name="Cargo__c",
    label="Cargo",
    plural_label="Cargo",
    fields=(_f("Weight__c", "Number", "objects/Cargo__c.toml"),),
    web_links=(WebLinkSpec("Manifest", "Manifest", "/m"),),
    tab=TabSpec(),
    source="objects/Cargo__c.toml",
)


def test_project_templates_override_plugins_which_override_builtins(tmp_path: Path) -> None:
    project = _write(
        tmp_path / "project",
        "CustomField.xml.j2",
        "{% for field in fields %}\n    <fields>{{ field.full_name }}</fields>\n{% endfor %}\n",
    )
    plugin = _write(tmp_path / "plugin", "CustomField.xml.j2", "    <fields>plugin</fields>\n")
    _write(
        plugin,
        "CustomTab.xml.j2",
        '<?xml version="1.0" encoding="UTF-8"?>\n<CustomTab>{{ tab.motif }}</CustomTab>\n',
    )
    files = {f.path: f.content.decode() for f in Renderer([project, plugin]).render([SMALL])}
    assert "    <fields>Weight__c</fields>\n" in files["objects/Cargo__c.object"]
    assert "plugin" not in files["objects/Cargo__c.object"]
    # The object template and the web link template still come from the built-ins.
    assert "<enableBulkApi>true</enableBulkApi>" in files["objects/Cargo__c.object"]
    assert "<masterLabel>Manifest</masterLabel>" in files["objects/Cargo__c.object"]
    assert files["tabs/Cargo__c.tab"].endswith("<CustomTab>Custom57: Building Block</CustomTab>\n")


def test_template_syntax_error_names_template_and_line(tmp_path: Path) -> None:
    project = _write(tmp_path, "CustomField.xml.j2", "    <fields>\n{% if %}\n    </fields>\n")
    with pytest.raises(TemplateError) as caught:
        Renderer([project]).render([SMALL])
    message = str(caught.value)
    assert f"{project / 'CustomField.xml.j2'}:2: template syntax error" in message
    assert "CustomObject Cargo__c" in message
    assert "Traceback" not in message


def test_undefined_variable_names_template_line_and_field(tmp_path: Path) -> None:
    project = _write(
        tmp_path,
        "CustomField.xml.j2",
        "{% for field in fields %}\n    <fields>\n        {{ field.colour }}\n    </fields>\n"
        "{% endfor %}\n",
    )
    with pytest.raises(TemplateError) as caught:
        Renderer([project]).render([SMALL])
    message = str(caught.value)
    assert f"{project / 'CustomField.xml.j2'}:3:" in message
    assert "colour" in message
    assert "CustomObject Cargo__c, field Weight__c" in message
    assert "objects/Cargo__c.toml [fields.Weight__c]" in message


def test_missing_included_template_and_printed_none_are_template_errors(tmp_path: Path) -> None:
    missing = _write(tmp_path / "a", "CustomTab.xml.j2", '<x>\n{% include "Nope.xml.j2" %}\n</x>\n')
    with pytest.raises(
        TemplateError, match=r"CustomTab\.xml\.j2:2: template Nope\.xml\.j2 not found"
    ):
        Renderer([missing]).render([SMALL])
    prints_none = _write(tmp_path / "b", "CustomTab.xml.j2", "<x>{{ object.description }}</x>\n")
    with pytest.raises(TemplateError, match=r"CustomTab\.xml\.j2:1: .*None"):
        Renderer([prints_none]).render([SMALL])


def test_field_template_overrides_see_the_spec_and_the_type_table(tmp_path: Path) -> None:
    project = _write(
        tmp_path,
        "CustomField.xml.j2",
        "{% for field in fields %}\n"
        "    <fields>{{ field.spec.source }}|{{ field_types[field.type].describe_type }}</fields>\n"
        "{% endfor %}\n",
    )
    files = {f.path: f.content.decode() for f in Renderer([project]).render([SMALL])}
    assert (
        "<fields>objects/Cargo__c.toml [fields.Weight__c]|double</fields>"
        in (files["objects/Cargo__c.object"])
    )


def test_web_link_template_is_overridden_alone(tmp_path: Path) -> None:
    project = _write(
        tmp_path,
        "WebLink.xml.j2",
        "{% for link in web_links %}\n    <webLinks>{{ link.url }}</webLinks>\n{% endfor %}\n",
    )
    text = Renderer([project]).render([SMALL])[0].content.decode()
    assert "    <webLinks>/m</webLinks>\n</CustomObject>\n" in text
    assert "<fullName>Weight__c</fullName>" in text


def test_printed_values_compile_to_one_call() -> None:
    """The fast path is in use: a Jinja upgrade that bypassed it would only show as slowness."""
    source = Renderer()._env.compile(
        "<a>{{ x }}</a>{% autoescape false %}<b>{{ y }}</b>{% endautoescape %}", raw=True
    )
    assert source.count("environment.xml_text(") == 1
    # The block without autoescaping keeps Jinja's own code, and so the finalize safety net.
    assert source.count("str(environment.finalize(") == 1


def test_declared_components_are_what_the_files_hold() -> None:
    rendering = Renderer().rendering([VOYAGE, SHIP, CONTACT], PERMISSION_SETS)
    objects = [f for f in rendering.files if f.path.startswith("objects/")]
    assert sorted(rendering.components) == [f.path for f in objects]
    declared = manifest.components_of(rendering.files, rendering.components)
    assert declared == manifest.components_of(rendering.files)  # read back from the XML
    assert "CustomObject:Contact" not in {str(ref) for ref in declared}  # a container only
    assert "WebLink:Voyage__c.Track_Ship" in {str(ref) for ref in declared}


@pytest.mark.parametrize("template", [OBJECT_TEMPLATE, FIELD_TEMPLATE, WEB_LINK_TEMPLATE])
def test_an_overridden_object_template_declares_nothing(tmp_path: Path, template: str) -> None:
    _write(tmp_path, template, (builtin_template_dir() / template).read_text())
    assert Renderer([tmp_path]).rendering([SMALL]).components == {}
    assert Renderer([tmp_path]).rendering([SMALL]).files == Renderer().rendering([SMALL]).files
