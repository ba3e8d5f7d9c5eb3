"""The course catalogue of docs/specs.md deployed to the local org through the Metadata API, then
seen as a client sees it over real HTTPS: formula and roll-up fields described as calculated
and read-only (a roll-up as what it sums up), geolocation with its latitude and longitude,
encrypted text, a picklist of a global value set offering that set's values, and writes to
what Salesforce calculates refused. The org does not compute formulas or roll-ups: they read
as null (docs/localorg.md)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from toolkit.localorg import deploys
from toolkit.localorg.org import RunningOrg
from toolkit.metadata.packaging import build_zip
from toolkit.project import build_package, open_project

if TYPE_CHECKING:
    from tests.conftest import Catalogue


@pytest.fixture(scope="module", autouse=True)
def catalogue(
    local_org: RunningOrg, docs_catalogue: Catalogue, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = docs_catalogue(Path(tmp_path_factory.mktemp("catalogue")))
    package = build_package(open_project(project, no_plugins=True))
    deploys.set_component_delay(local_org.org, 0)
    engine = deploys.engine(local_org.org)
    deploy_id = engine.submit(build_zip(list(package.files)), deploys.DeployOptions())
    for _ in range(1000):
        status = engine.status(deploy_id)
        if status["done"]:
            assert status["status"] == "Succeeded", status
            return
        time.sleep(0.01)
    raise AssertionError("the catalogue did not deploy")


def _fields(sf: Salesforce, name: str) -> dict[str, dict[str, Any]]:
    described = getattr(sf, name).describe()
    return {field["name"]: field for field in described["fields"]}


def test_formula_and_roll_up_fields_are_calculated_and_read_only(sf: Salesforce) -> None:
    course = _fields(sf, "Course__c")
    price_per_hour = course["Price_Per_Hour__c"]
    assert price_per_hour["calculated"] is True
    assert price_per_hour["calculatedFormula"] == "IF(Hours__c > 0, Price__c / Hours__c, NULL)"
    assert (price_per_hour["type"], price_per_hour["precision"], price_per_hour["scale"]) == (
        "currency",
        10,
        2,
    )
    for name, kind in (("Enrollment_Count__c", "double"), ("Hours_Completed__c", "double")):
        summary = course[name]
        assert summary["calculated"] is True and summary["type"] == kind, name
        assert summary["createable"] is False and summary["updateable"] is False, name
    assert price_per_hour["createable"] is False and price_per_hour["updateable"] is False
    assert course["Price__c"]["calculated"] is False and course["Price__c"]["updateable"] is True


def test_geolocation_encrypted_text_and_a_global_picklist(sf: Salesforce) -> None:
    course = _fields(sf, "Course__c")
    assert course["Campus__c"]["type"] == "location"
    latitude = course["Campus__Latitude__s"]
    assert (latitude["type"], latitude["scale"], latitude["createable"]) == ("double", 6, True)
    assert course["Campus__Longitude__s"]["label"] == "Campus (Longitude)"
    assert course["Vendor_Key__c"]["type"] == "encryptedstring"
    assert course["Vendor_Key__c"]["length"] == 40
    delivery = course["Delivery__c"]
    assert [v["value"] for v in delivery["picklistValues"]] == ["Video", "Live", "Blended"]
    assert delivery["restrictedPicklist"] is True


def test_writes_to_calculated_fields_are_refused_and_they_read_as_null(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Course__c.create({"Name": "Apex 101", "Price_Per_Hour__c": 12})
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    created = sf.Course__c.create(
        {
            "Name": "Apex 101",
            "Price__c": 300,
            "Hours__c": 10,
            "Delivery__c": "Live",
            "Campus__Latitude__s": 48.8566,
            "Campus__Longitude__s": 2.3522,
        }
    )
    sf.Enrollment__c.create(
        {"Course__c": created["id"], "Status__c": "Completed", "Hours_Done__c": 4}
    )
    record = sf.Course__c.get(created["id"])
    assert record["Price__c"] == 300 and record["Campus__Latitude__s"] == 48.8566
    assert record["Price_Per_Hour__c"] is None and record["Enrollment_Count__c"] is None
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Course__c.create({"Name": "Apex 102", "Delivery__c": "Carrier pigeon"})
    assert caught.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
