"""Components compared by meaning: noise (layout, entity spelling, the order of unordered
lists, an object's field order) hashes alike; real changes, order of layout items included,
do not. Plus the cutting of object files and the comparison statuses of a plan."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from toolkit.metadata import changes, normalize
from toolkit.metadata.changes import Status
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.manifest import ComponentRef

MD = "http://soap.sforce.com/2006/04/metadata"
HEAD = '<?xml version="1.0" encoding="UTF-8"?>'


def _object(*parts: str, own: str = "") -> MetadataFile:
    return MetadataFile(
        "objects/Hive__c.object",
        f'{HEAD}<CustomObject xmlns="{MD}">{own}{"".join(parts)}</CustomObject>'.encode(),
    )


def _field(name: str, label: str, kind: str = "Text") -> str:
    return (
        f"<fields><fullName>{name}</fullName><label>{label}</label><length>40</length>"
        f"<type>{kind}</type></fields>"
    )


OWN = "<label>Hive</label><pluralLabel>Hives</pluralLabel><sharingModel>ReadWrite</sharingModel>"


def test_an_object_is_split_into_its_own_part_and_one_body_per_child() -> None:
    found = normalize.bodies(
        [_object(_field("Queen__c", "Queen"), _field("Honey__c", "Honey"), own=OWN)]
    )
    assert sorted(found) == [
        ComponentRef("CustomField", "Hive__c.Honey__c"),
        ComponentRef("CustomField", "Hive__c.Queen__c"),
        ComponentRef("CustomObject", "Hive__c"),
    ]
    field = found[ComponentRef("CustomField", "Hive__c.Queen__c")].decode()
    assert field.startswith(HEAD) and f'<CustomField xmlns="{MD}">' in field
    assert "<label>Queen</label>" in field and "Honey" not in field
    assert "<fields>" not in found[ComponentRef("CustomObject", "Hive__c")].decode()


def test_a_container_of_fields_is_not_an_object_component() -> None:
    contact = MetadataFile(
        "objects/Contact.object",
        f'<CustomObject xmlns="{MD}">{_field("Hives__c", "Hives")}</CustomObject>'.encode(),
    )
    assert list(normalize.bodies([contact])) == [ComponentRef("CustomField", "Contact.Hives__c")]


def test_layout_and_field_order_noise_hash_alike() -> None:
    tidy = _object(_field("Queen__c", "Queen"), _field("Honey__c", "Honey"), own=OWN)
    messy = MetadataFile(
        tidy.path,
        (
            f'<CustomObject   xmlns="{MD}">\n\n  {_field("Honey__c", "Hon&#101;y")}'
            f"<!-- a comment -->{OWN}\n{_field('Queen__c', 'Queen')}</CustomObject>"
        ).encode(),
    )
    assert normalize.hashes([tidy]) == normalize.hashes([messy])


def test_a_real_change_and_a_change_of_meaningful_order_differ() -> None:
    before = normalize.hashes([_object(_field("Queen__c", "Queen"))])
    relabelled = normalize.hashes([_object(_field("Queen__c", "Queen Bee"))])
    assert before != relabelled
    layout = "<layoutSections><label>S</label><layoutColumns>{}</layoutColumns></layoutSections>"
    items = [f"<layoutItems><field>{f}</field></layoutItems>" for f in ("A__c", "B__c")]

    def hashed(order: list[str]) -> str:
        body = f'<Layout xmlns="{MD}">{layout.format("".join(order))}</Layout>'
        return normalize.hashes([MetadataFile("layouts/Hive__c-Main.layout", body.encode())])[
            ComponentRef("Layout", "Hive__c-Main")
        ]

    assert hashed(items) != hashed(items[::-1])


PERMISSIONS = [
    f"<fieldPermissions><editable>{e}</editable><field>Hive__c.F{n}__c</field>"
    f"<readable>true</readable></fieldPermissions>"
    for n, e in enumerate(["true", "false", "true", "false", "true"])
] + [
    "<objectPermissions><allowCreate>true</allowCreate><allowDelete>false</allowDelete>"
    "<allowEdit>true</allowEdit><allowRead>true</allowRead><modifyAllRecords>false"
    "</modifyAllRecords><object>Hive__c</object><viewAllRecords>false</viewAllRecords>"
    "</objectPermissions>"
]


@given(st.permutations(PERMISSIONS))
def test_permission_set_entries_in_any_order_hash_alike(order: list[str]) -> None:
    def hashed(entries: list[str]) -> dict[ComponentRef, str]:
        body = (
            f'<PermissionSet xmlns="{MD}">{"".join(entries)}<label>Keepers</label></PermissionSet>'
        )
        return normalize.hashes(
            [MetadataFile("permissionsets/Keepers.permissionset", body.encode())]
        )

    assert hashed(order) == hashed(PERMISSIONS)


def test_content_types_keep_their_bytes_and_join_their_files() -> None:
    meta = (
        f'<ApexClass xmlns="{MD}"><apiVersion>63.0</apiVersion><status>Active</status></ApexClass>'
    )
    files = [
        MetadataFile("classes/Hive.cls", b"public class Hive {  }\n"),
        MetadataFile("classes/Hive.cls-meta.xml", meta.encode()),
    ]
    body = normalize.bodies(files)[ComponentRef("ApexClass", "Hive")]
    assert b"--- classes/Hive.cls\npublic class Hive {  }\n" in body
    assert b"--- classes/Hive.cls-meta.xml\n" in body
    spaced = [MetadataFile("classes/Hive.cls", b"public class Hive { }\n"), files[1]]
    assert normalize.hashes(files) != normalize.hashes(spaced)


def test_subset_cuts_an_object_to_the_kept_components() -> None:
    whole = _object(_field("Queen__c", "Queen"), _field("Honey__c", "Honey"), own=OWN)
    layout = MetadataFile("layouts/Hive__c-Main.layout", f'<Layout xmlns="{MD}"/>'.encode())
    package = MetadataFile("package.xml", b"<Package/>")
    kept = normalize.subset(
        [whole, layout, package], [ComponentRef("CustomField", "Hive__c.Honey__c")]
    )
    assert [f.path for f in kept] == ["objects/Hive__c.object"]
    assert list(normalize.bodies(kept)) == [ComponentRef("CustomField", "Hive__c.Honey__c")]
    own = normalize.subset([whole], [ComponentRef("CustomObject", "Hive__c")])
    assert list(normalize.bodies(own)) == [ComponentRef("CustomObject", "Hive__c")]
    assert normalize.subset([whole], [ComponentRef("Layout", "Hive__c-Main")]) == []


def test_compare_names_every_status() -> None:
    new, same, old = (
        ComponentRef("Layout", "A-New"),
        ComponentRef("Layout", "A-Same"),
        ComponentRef("Layout", "A-Old"),
    )
    gone, absent = ComponentRef("CustomTab", "Gone__c"), ComponentRef("CustomTab", "Never__c")
    package = {new: b"<n/>", same: b"<s/>", old: b"<o2/>"}
    org = {same: b"<s/>", old: b"<o1/>", gone: b"<g/>"}
    found = {c.ref: c.status for c in changes.compare(package, org, [gone, absent])}
    assert found == {
        new: Status.NEW,
        same: Status.UNCHANGED,
        old: Status.CHANGED,
        gone: Status.DELETED,
        absent: Status.ALREADY_ABSENT,
    }
    assert {c.ref for c in changes.effective(changes.compare(package, org, [gone, absent]))} == {
        new,
        old,
        gone,
    }


def test_a_diff_goes_from_the_org_to_the_package() -> None:
    ref = ComponentRef("Layout", "A-L")
    (change,) = changes.compare(
        {ref: b"<a>\n<b>new</b>\n</a>\n"}, {ref: b"<a>\n<b>old</b>\n</a>\n"}
    )
    diff = change.diff()
    assert "--- org/Layout:A-L" in diff and "+++ package/Layout:A-L" in diff
    assert "-<b>old</b>" in diff and "+<b>new</b>" in diff
    (created,) = changes.compare({ref: b"<a/>\n"}, {})
    assert "--- /dev/null" in created.diff()
