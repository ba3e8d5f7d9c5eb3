"""Standard objects and fields that every Salesforce org has, as a typed table.

Offline validation needs to know that a layout may show ``Contact.MailingAddress`` or that a
permission set may grant ``Account.Industry`` without the package defining them; the local org
serves describes from the same rows so that the two never disagree. The table covers the common
CRM objects and the fields Salesforce documents for them in a new org (no optional features such
as person accounts or territories). It is deliberately not exhaustive: callers that find a name
missing here should treat it as unknown, not as wrong.

Types are describe types (``string``, ``reference``, ``picklist`` ...). Picklist values are the
ones a new org ships with; orgs can change them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class StandardField:
    """One field as a describe reports it.

    ``length`` applies to text-like types, ``precision``/``scale`` to currency, percent and
    double, ``digits`` to int. A reference lists every object it may point at (polymorphic
    fields such as ``OwnerId`` or ``WhatId`` name several).
    """

    name: str
    type: str
    label: str
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    picklist_values: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        """Whether a record cannot be created without a value (what the UI marks as required)."""
        return (
            not self.nillable
            and self.createable
            and not self.defaulted_on_create
            and self.type != "boolean"
        )


@dataclass(frozen=True)
class StandardObject:
    name: str
    label: str
    plural_label: str
    key_prefix: str
    fields: tuple[StandardField, ...]
    createable: bool = True

    @functools.cached_property
    def _by_name(self) -> dict[str, StandardField]:
        return {f.name.lower(): f for f in self.fields}

    def field(self, name: str) -> StandardField | None:
        """The field called ``name``, ignoring case as Salesforce does."""
        return self._by_name.get(name.lower())


# --- builders: keep the table below readable ----------------------------------------------------

_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z][a-z0-9]*|[a-z0-9]+")


def _label(name: str) -> str:
    """``MailingPostalCode`` -> ``Mailing Postal Code``; ``AccountId`` -> ``Account ID``."""
    return " ".join("ID" if word == "Id" else word for word in _WORDS.findall(name))


def _f(
    name: str,
    type_: str,
    length: int = 0,
    *,
    label: str | None = None,
    precision: int = 0,
    scale: int = 0,
    digits: int = 0,
    nillable: bool = True,
    read_only: bool = False,
    updateable: bool = True,
    defaulted: bool = False,
    values: tuple[str, ...] = (),
) -> StandardField:
    """One field; ``read_only`` is for what the system maintains and the API never writes."""
    return StandardField(
        name=name,
        type=type_,
        label=label or _label(name),
        length=length,
        precision=precision,
        scale=scale,
        digits=digits,
        nillable=nillable,
        createable=not read_only,
        updateable=updateable and not read_only,
        defaulted_on_create=defaulted,
        picklist_values=values,
    )


def _ro(name: str, type_: str, length: int = 0, *, label: str | None = None) -> StandardField:
    return _f(name, type_, length, label=label, read_only=True)


def _text(
    name: str, length: int, *, required: bool = False, label: str | None = None
) -> StandardField:
    return _f(name, "string", length, label=label, nillable=not required)


def _area(name: str, length: int = 32_000, *, label: str | None = None) -> StandardField:
    return _f(name, "textarea", length, label=label)


def _phone(name: str, *, label: str | None = None, read_only: bool = False) -> StandardField:
    return _f(name, "phone", 40, label=label, read_only=read_only)


def _email(name: str, length: int = 80, *, read_only: bool = False) -> StandardField:
    return _f(name, "email", length, read_only=read_only)


def _date(name: str, *, label: str | None = None, required: bool = False) -> StandardField:
    return _f(name, "date", label=label, nillable=not required)


def _datetime(name: str, *, label: str | None = None) -> StandardField:
    return _f(name, "datetime", label=label)


def _bool(name: str, *, label: str | None = None, read_only: bool = False) -> StandardField:
    return _f(name, "boolean", label=label, nillable=False, defaulted=True, read_only=read_only)


def _pick(
    name: str,
    values: tuple[str, ...] = (),
    *,
    required: bool = False,
    defaulted: bool = False,
    label: str | None = None,
    read_only: bool = False,
) -> StandardField:
    return _f(
        name,
        "picklist",
        255,
        label=label,
        nillable=not required,
        defaulted=defaulted,
        values=values,
        read_only=read_only,
    )


def _combo(name: str, values: tuple[str, ...]) -> StandardField:
    return _f(name, "combobox", 255, values=values)


def _money(
    name: str, scale: int = 2, *, label: str | None = None, read_only: bool = False
) -> StandardField:
    return _f(name, "currency", precision=18, scale=scale, label=label, read_only=read_only)


def _number(
    name: str,
    scale: int = 2,
    *,
    label: str | None = None,
    required: bool = False,
    read_only: bool = False,
) -> StandardField:
    return _f(
        name,
        "double",
        precision=18,
        scale=scale,
        label=label,
        nillable=not required,
        read_only=read_only,
    )


def _percent(name: str, precision: int, scale: int, *, label: str | None = None) -> StandardField:
    return _f(name, "percent", precision=precision, scale=scale, label=label)


def _int(name: str, *, label: str | None = None, read_only: bool = False) -> StandardField:
    return _f(name, "int", digits=8, label=label, read_only=read_only)


def _ref(
    name: str,
    to: str | tuple[str, ...],
    relationship: str | None = None,
    *,
    required: bool = False,
    defaulted: bool = False,
    read_only: bool = False,
    updateable: bool = True,
    label: str | None = None,
) -> StandardField:
    """A lookup; its relationship name is the field name without ``Id`` unless given."""
    return StandardField(
        name=name,
        type="reference",
        label=label or _label(name),
        length=18,
        nillable=not required and not defaulted,
        createable=not read_only,
        updateable=updateable and not read_only,
        defaulted_on_create=defaulted,
        reference_to=(to,) if isinstance(to, str) else to,
        relationship_name=relationship or name.removesuffix("Id"),
    )


def _owner(*to: str) -> StandardField:
    return _ref("OwnerId", to or ("User",), "Owner", defaulted=True)


def _id() -> StandardField:
    return _f("Id", "id", 18, label="Record ID", nillable=False, read_only=True, defaulted=True)


def _audit(*, deletable: bool = True, created: bool = True) -> tuple[StandardField, ...]:
    """Id and the audit fields the platform keeps on every record."""
    fields = [_id()]
    if deletable:
        fields.append(_bool("IsDeleted", label="Deleted", read_only=True))
    stamps = (("Created", created), ("LastModified", True))
    for prefix, present in stamps:
        if present:
            fields.append(
                _f(f"{prefix}Date", "datetime", nillable=False, read_only=True, defaulted=True)
            )
            fields.append(_ref(f"{prefix}ById", "User", defaulted=True, read_only=True))
    fields.append(_f("SystemModstamp", "datetime", nillable=False, read_only=True, defaulted=True))
    return tuple(fields)


def _permissions() -> tuple[StandardField, ...]:
    """The ``Permissions<Name>`` booleans; read-only here, as the org derives them."""
    return tuple(
        _bool(f"Permissions{name}", label=label, read_only=True)
        for name, label in USER_PERMISSION_LABELS.items()
    )


def _viewed() -> tuple[StandardField, ...]:
    return (_ro("LastViewedDate", "datetime"), _ro("LastReferencedDate", "datetime"))


def _address(prefix: str = "") -> tuple[StandardField, ...]:
    """The parts of an address plus the read-only compound field that layouts show."""
    label = f"{prefix} " if prefix else ""
    return (
        _area(f"{prefix}Street", 255),
        _text(f"{prefix}City", 40),
        _text(f"{prefix}State", 80, label=f"{label}State/Province"),
        _text(f"{prefix}PostalCode", 20, label=f"{label}Zip/Postal Code"),
        _text(f"{prefix}Country", 80),
        _f(f"{prefix}Latitude", "double", precision=18, scale=15),
        _f(f"{prefix}Longitude", "double", precision=18, scale=15),
        _f(f"{prefix}GeocodeAccuracy", "picklist", 40),
        _ro(f"{prefix}Address", "address"),
    )


def _person_name() -> tuple[StandardField, ...]:
    """A person's name parts and the read-only compound ``Name`` layouts show."""
    return (
        _text("LastName", 80, required=True),
        _text("FirstName", 40),
        _pick("Salutation", _SALUTATIONS),
        _f("Name", "string", 121, label="Full Name", nillable=False, read_only=True),
    )


_SALUTATIONS = ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")
_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
_RATINGS = ("Hot", "Warm", "Cold")
_INDUSTRIES = (
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
)
_CLEAN_STATUS = (
    "Matched",
    "Different",
    "Acknowledged",
    "NotFound",
    "Inactive",
    "Pending",
    "SelectMatch",
    "Skipped",
)
# User permissions the table knows, by API name with their Setup labels. Profile and
# UserPermissionAccess carry each as a boolean ``Permissions<Name>``.
USER_PERMISSION_LABELS: Mapping[str, str] = {
    "ApiEnabled": "API Enabled",
    "ModifyAllData": "Modify All Data",
    "ModifyMetadata": "Modify Metadata Through Metadata API Functions",
    "CustomizeApplication": "Customize Application",
    "ViewSetup": "View Setup and Configuration",
    "ViewAllData": "View All Data",
    "ManageUsers": "Manage Users",
}
USER_PERMISSIONS: tuple[str, ...] = tuple(USER_PERMISSION_LABELS)
# Organization.OrganizationType values tools are known to meet; Salesforce documents no full list.
ORGANIZATION_TYPES: tuple[str, ...] = (
    "Base Edition",
    "Contact Manager Edition",
    "Developer Edition",
    "Enterprise Edition",
    "Group Edition",
    "Performance Edition",
    "Personal Edition",
    "Professional Edition",
    "Team Edition",
    "Unlimited Edition",
)


# What an activity, note or attachment may hang off, among the objects of this table.
# A campaign's own figures; each has a read-only total over the campaign and those below it.
_CAMPAIGN_FIGURES = (
    _money("ExpectedRevenue", 0, label="Expected Revenue in Campaign"),
    _money("BudgetedCost", 0, label="Budgeted Cost in Campaign"),
    _money("ActualCost", 0, label="Actual Cost in Campaign"),
    _number("NumberSent", 0, label="Num Sent in Campaign"),
    _int("NumberOfLeads", label="Leads in Campaign", read_only=True),
    _int("NumberOfConvertedLeads", label="Converted Leads in Campaign", read_only=True),
    _int("NumberOfContacts", label="Contacts in Campaign", read_only=True),
    _int("NumberOfResponses", label="Responses in Campaign", read_only=True),
    _int("NumberOfOpportunities", label="Opportunities in Campaign", read_only=True),
    _int("NumberOfWonOpportunities", label="Won Opportunities in Campaign", read_only=True),
    _money("AmountAllOpportunities", label="Value Opportunities in Campaign", read_only=True),
    _money("AmountWonOpportunities", label="Value Won Opportunities in Campaign", read_only=True),
)


def _in_hierarchy(figure: StandardField) -> StandardField:
    """``ActualCost`` ("Actual Cost in Campaign") → ``HierarchyActualCost`` ("Total Actual
    Cost in Hierarchy"), which Salesforce computes."""
    return replace(
        figure,
        name=f"Hierarchy{figure.name}",
        label=f"Total {figure.label.removesuffix(' in Campaign')} in Hierarchy",
        createable=False,
        updateable=False,
    )


_PARENTS = ("Account", "Asset", "Campaign", "Case", "Contract", "Opportunity", "Order", "Product2")
_WHO = ("Contact", "Lead")
_ACTIVITY_PRIORITY = ("High", "Normal", "Low")


def _object(
    name: str,
    plural: str,
    key_prefix: str,
    *fields: StandardField | tuple[StandardField, ...],
    label: str | None = None,
    createable: bool = True,
) -> StandardObject:
    flat: list[StandardField] = []
    for item in fields:
        flat.extend(item if isinstance(item, tuple) else (item,))
    return StandardObject(
        name=name,
        label=label or _label(name),
        plural_label=plural,
        key_prefix=key_prefix,
        fields=tuple(flat),
        createable=createable,
    )


_OBJECTS: tuple[StandardObject, ...] = (
    _object(
        "Account",
        "Accounts",
        "001",
        _audit(),
        _ref("MasterRecordId", "Account", read_only=True),
        _text("Name", 255, required=True, label="Account Name"),
        _pick(
            "Type",
            (
                "Prospect",
                "Customer - Direct",
                "Customer - Channel",
                "Channel Partner / Reseller",
                "Installation Partner",
                "Technology Partner",
                "Other",
            ),
            label="Account Type",
        ),
        _ref("ParentId", "Account", "Parent", label="Parent Account ID"),
        _address("Billing"),
        _address("Shipping"),
        _phone("Phone", label="Account Phone"),
        _phone("Fax", label="Account Fax"),
        _text("AccountNumber", 40),
        _f("Website", "url", 255),
        _ro("PhotoUrl", "url", 255),
        _text("Sic", 20, label="SIC Code"),
        _pick("Industry", _INDUSTRIES),
        _money("AnnualRevenue", 0),
        _int("NumberOfEmployees", label="Employees"),
        _pick("Ownership", ("Public", "Private", "Subsidiary", "Other")),
        _text("TickerSymbol", 20),
        _area("Description", label="Account Description"),
        _pick("Rating", _RATINGS, label="Account Rating"),
        _text("Site", 80, label="Account Site"),
        _owner(),
        _ro("LastActivityDate", "date"),
        _viewed(),
        _text("Jigsaw", 20, label="Data.com Key"),
        _ro("JigsawCompanyId", "string", 20),
        _pick("CleanStatus", _CLEAN_STATUS),
        _pick("AccountSource", _SOURCES),
        _text("SicDesc", 80, label="SIC Description"),
        _text("DunsNumber", 9, label="D-U-N-S Number"),
        _text("Tradestyle", 255),
        _text("NaicsCode", 8, label="NAICS Code"),
        _text("NaicsDesc", 120, label="NAICS Description"),
        _text("YearStarted", 4),
    ),
    _object(
        "Contact",
        "Contacts",
        "003",
        _audit(),
        _ref("MasterRecordId", "Contact", read_only=True),
        _ref("AccountId", "Account"),
        _person_name(),
        _address("Other"),
        _address("Mailing"),
        _phone("Phone", label="Business Phone"),
        _phone("Fax", label="Business Fax"),
        _phone("MobilePhone"),
        _phone("HomePhone"),
        _phone("OtherPhone"),
        _phone("AssistantPhone", label="Asst. Phone"),
        _ref("ReportsToId", "Contact", "ReportsTo"),
        _email("Email"),
        _text("Title", 128),
        _text("Department", 80),
        _text("AssistantName", 40, label="Assistant's Name"),
        _pick("LeadSource", _SOURCES),
        _date("Birthdate"),
        _area("Description", label="Contact Description"),
        _owner(),
        _bool("HasOptedOutOfEmail", label="Email Opt Out"),
        _bool("HasOptedOutOfFax", label="Fax Opt Out"),
        _bool("DoNotCall"),
        _ro("LastActivityDate", "date"),
        _ro("LastCURequestDate", "datetime", label="Last Stay-in-Touch Request Date"),
        _ro("LastCUUpdateDate", "datetime", label="Last Stay-in-Touch Save Date"),
        _viewed(),
        _text("EmailBouncedReason", 255),
        _datetime("EmailBouncedDate"),
        _bool("IsEmailBounced", read_only=True),
        _ro("PhotoUrl", "url", 255),
        _text("Jigsaw", 20, label="Data.com Key"),
        _ro("JigsawContactId", "string", 20),
        _pick("CleanStatus", _CLEAN_STATUS),
    ),
    _object(
        "Lead",
        "Leads",
        "00Q",
        _audit(),
        _ref("MasterRecordId", "Lead", read_only=True),
        _person_name(),
        _text("Title", 128),
        _text("Company", 255, required=True),
        _address(),
        _phone("Phone"),
        _phone("MobilePhone"),
        _phone("Fax"),
        _email("Email"),
        _f("Website", "url", 255),
        _ro("PhotoUrl", "url", 255),
        _area("Description"),
        _pick("LeadSource", _SOURCES),
        _pick(
            "Status",
            (
                "Open - Not Contacted",
                "Working - Contacted",
                "Closed - Converted",
                "Closed - Not Converted",
            ),
            required=True,
            defaulted=True,
        ),
        _pick("Industry", _INDUSTRIES),
        _pick("Rating", _RATINGS),
        _money("AnnualRevenue", 0),
        _int("NumberOfEmployees", label="Employees"),
        _owner("Group", "User"),
        _f("IsConverted", "boolean", nillable=False, defaulted=True, updateable=False),
        _ro("ConvertedDate", "date"),
        _ref("ConvertedAccountId", "Account", read_only=True),
        _ref("ConvertedContactId", "Contact", read_only=True),
        _ref("ConvertedOpportunityId", "Opportunity", read_only=True),
        _bool("IsUnreadByOwner"),
        _bool("HasOptedOutOfEmail", label="Email Opt Out"),
        _bool("HasOptedOutOfFax", label="Fax Opt Out"),
        _bool("DoNotCall"),
        _ro("LastActivityDate", "date"),
        _viewed(),
        _text("Jigsaw", 20, label="Data.com Key"),
        _ro("JigsawContactId", "string", 20),
        _pick("CleanStatus", _CLEAN_STATUS),
        _text("EmailBouncedReason", 255),
        _datetime("EmailBouncedDate"),
    ),
    _object(
        "Opportunity",
        "Opportunities",
        "006",
        _audit(),
        _ref("AccountId", "Account"),
        _bool("IsPrivate", label="Private"),
        _text("Name", 120, required=True),
        _area("Description"),
        _pick(
            "StageName",
            (
                "Prospecting",
                "Qualification",
                "Needs Analysis",
                "Value Proposition",
                "Id. Decision Makers",
                "Perception Analysis",
                "Proposal/Price Quote",
                "Negotiation/Review",
                "Closed Won",
                "Closed Lost",
            ),
            required=True,
            label="Stage",
        ),
        _money("Amount"),
        _percent("Probability", 3, 0, label="Probability (%)"),
        _money("ExpectedRevenue", label="Expected Amount", read_only=True),
        _number("TotalOpportunityQuantity"),
        _date("CloseDate", required=True),
        _pick(
            "Type",
            (
                "Existing Customer - Upgrade",
                "Existing Customer - Replacement",
                "Existing Customer - Downgrade",
                "New Customer",
            ),
        ),
        _text("NextStep", 255),
        _pick("LeadSource", _SOURCES),
        _bool("IsClosed", label="Closed", read_only=True),
        _bool("IsWon", label="Won", read_only=True),
        _pick(
            "ForecastCategory",
            ("Omitted", "Pipeline", "BestCase", "Forecast", "Closed"),
            read_only=True,
        ),
        _pick(
            "ForecastCategoryName",
            ("Omitted", "Pipeline", "Best Case", "Commit", "Closed"),
            defaulted=True,
            label="Forecast Category",
        ),
        _ref("CampaignId", "Campaign"),
        _bool("HasOpportunityLineItem", label="Has Line Item", read_only=True),
        _ref("Pricebook2Id", "Pricebook2"),
        _owner(),
        _ref("ContractId", "Contract"),
        _ro("LastActivityDate", "date"),
        _f("FiscalQuarter", "int", digits=8, read_only=True),
        _f("FiscalYear", "int", digits=8, read_only=True),
        _ro("Fiscal", "string", 6, label="Fiscal Period"),
        _bool("HasOpenActivity", read_only=True),
        _bool("HasOverdueTask", read_only=True),
        _viewed(),
    ),
    _object(
        "OpportunityLineItem",
        "Opportunity Product",
        "00k",
        _audit(),
        _ref("OpportunityId", "Opportunity", required=True, updateable=False),
        _f("SortOrder", "int", digits=8, read_only=True),
        _ref("PricebookEntryId", "PricebookEntry", updateable=False),
        _ref("Product2Id", "Product2", updateable=False),
        _ro("ProductCode", "string", 255),
        _ro("Name", "string", 376, label="Opportunity Product Name"),
        _number("Quantity", required=True),
        _money("TotalPrice"),
        _money("UnitPrice", label="Sales Price"),
        _money("ListPrice", read_only=True),
        _date("ServiceDate", label="Date"),
        _text("Description", 255, label="Line Description"),
        _money("Subtotal", read_only=True),
        _percent("Discount", 18, 2),
        label="Opportunity Product",
    ),
    _object(
        "OpportunityContactRole",
        "Opportunity Contact Role",
        "00K",
        _audit(),
        _ref("OpportunityId", "Opportunity", required=True, updateable=False),
        _ref("ContactId", "Contact", required=True),
        _pick(
            "Role",
            (
                "Business User",
                "Decision Maker",
                "Economic Buyer",
                "Economic Decision Maker",
                "Evaluator",
                "Executive Sponsor",
                "Influencer",
                "Technical Buyer",
                "Other",
            ),
        ),
        _bool("IsPrimary", label="Primary"),
    ),
    _object(
        "Case",
        "Cases",
        "500",
        _audit(),
        _ref("MasterRecordId", "Case", read_only=True),
        _ro("CaseNumber", "string", 30),
        _ref("ContactId", "Contact"),
        _ref("AccountId", "Account"),
        _ref("AssetId", "Asset"),
        _ref("ParentId", "Case", "Parent"),
        _text("SuppliedName", 80, label="Web Name"),
        _email("SuppliedEmail"),
        _text("SuppliedPhone", 40, label="Web Phone"),
        _text("SuppliedCompany", 80, label="Web Company"),
        _pick("Type", ("Mechanical", "Electrical", "Electronic", "Structural", "Other")),
        _pick("Status", ("New", "Working", "Escalated", "Closed"), defaulted=True),
        _pick(
            "Reason",
            (
                "Installation",
                "Equipment Complexity",
                "Performance",
                "Breakdown",
                "Equipment Design",
                "Feedback",
                "Other",
            ),
        ),
        _pick("Origin", ("Phone", "Email", "Web")),
        _text("Subject", 255),
        _pick("Priority", ("High", "Medium", "Low"), defaulted=True),
        _area("Description"),
        _bool("IsClosed", label="Closed", read_only=True),
        _ro("ClosedDate", "datetime"),
        _bool("IsEscalated", label="Escalated"),
        _owner("Group", "User"),
        _phone("ContactPhone", read_only=True),
        _phone("ContactMobile", read_only=True),
        _email("ContactEmail", read_only=True),
        _phone("ContactFax", read_only=True),
        _area("Comments", 4000, label="Internal Comments"),
        _viewed(),
    ),
    _object(
        "CaseComment",
        "Case Comments",
        "00a",
        _audit(),
        _ref("ParentId", "Case", "Parent", required=True, updateable=False),
        _bool("IsPublished", label="Published"),
        _area("CommentBody", 4000, label="Body"),
    ),
    _object(
        "Campaign",
        "Campaigns",
        "701",
        _audit(),
        _text("Name", 80, required=True, label="Campaign Name"),
        _ref("ParentId", "Campaign", "Parent"),
        _pick(
            "Type",
            (
                "Conference",
                "Webinar",
                "Trade Show",
                "Public Relations",
                "Partners",
                "Referral Program",
                "Advertisement",
                "Banner Ads",
                "Direct Mail",
                "Email",
                "Telemarketing",
                "Other",
            ),
        ),
        _pick("Status", ("Planned", "In Progress", "Completed", "Aborted")),
        _date("StartDate"),
        _date("EndDate"),
        _percent("ExpectedResponse", 8, 2, label="Expected Response (%)"),
        _bool("IsActive", label="Active"),
        _area("Description"),
        *_CAMPAIGN_FIGURES,
        *(_in_hierarchy(figure) for figure in _CAMPAIGN_FIGURES),
        _owner(),
        _ro("LastActivityDate", "date"),
        _viewed(),
    ),
    _object(
        "CampaignMember",
        "Campaign Members",
        "00v",
        _audit(),
        _ref("CampaignId", "Campaign", required=True, updateable=False),
        _ref("LeadId", "Lead", updateable=False),
        _ref("ContactId", "Contact", updateable=False),
        _pick("Status", ("Sent", "Responded")),
        _bool("HasResponded", label="Responded", read_only=True),
        _ro("FirstRespondedDate", "date"),
        _ref("LeadOrContactId", ("Contact", "Lead"), read_only=True),
        _ref("LeadOrContactOwnerId", ("Group", "User"), read_only=True),
    ),
    # Custom fields for events and tasks live on Activity in the Metadata API
    # (objects/Activity.object); records are always an Event or a Task, never an Activity.
    _object(
        "Activity",
        "Activities",
        "",
        _audit(),
        _ref("WhoId", _WHO, "Who", label="Name ID"),
        _ref("WhatId", _PARENTS, "What", label="Related To ID"),
        _text("Subject", 255),
        _date("ActivityDate", label="Due Date Only"),
        _area("Description"),
        _ref("AccountId", "Account", read_only=True),
        _owner(),
        _pick("Type", ("Call", "Email", "Meeting", "Other")),
        _bool("IsArchived", label="Archived", read_only=True),
        createable=False,
    ),
    _object(
        "Event",
        "Events",
        "00U",
        _audit(),
        _ref("WhoId", _WHO, "Who", label="Name ID"),
        _ref("WhatId", _PARENTS, "What", label="Related To ID"),
        _combo("Subject", ("Call", "Email", "Meeting", "Send Letter/Quote", "Other")),
        _text("Location", 255),
        _bool("IsAllDayEvent", label="All-Day Event"),
        _datetime("ActivityDateTime", label="Due Date Time"),
        _date("ActivityDate", label="Due Date Only"),
        _int("DurationInMinutes", label="Duration"),
        _datetime("StartDateTime"),
        _datetime("EndDateTime"),
        _ro("EndDate", "date", label="End Date Only"),
        _area("Description"),
        _ref("AccountId", "Account", read_only=True),
        _owner(),
        _pick("Type", ("Call", "Email", "Meeting", "Other")),
        _bool("IsPrivate", label="Private"),
        _pick("ShowAs", ("Busy", "OutOfOffice", "Free"), label="Show Time As"),
        _bool("IsChild", read_only=True),
        _bool("IsGroupEvent", read_only=True),
        _bool("IsArchived", label="Archived", read_only=True),
        _bool("IsReminderSet", label="Reminder Set"),
        _datetime("ReminderDateTime", label="Reminder Date/Time"),
        _pick("EventSubtype", ("Event",)),
    ),
    _object(
        "Task",
        "Tasks",
        "00T",
        _audit(),
        _ref("WhoId", _WHO, "Who", label="Name ID"),
        _ref("WhatId", _PARENTS, "What", label="Related To ID"),
        _combo("Subject", ("Call", "Send Letter", "Send Quote", "Other")),
        _date("ActivityDate", label="Due Date Only"),
        _pick(
            "Status",
            ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"),
            required=True,
            defaulted=True,
        ),
        _pick("Priority", _ACTIVITY_PRIORITY, required=True, defaulted=True),
        _bool("IsHighPriority", label="High Priority", read_only=True),
        _owner("Group", "User"),
        _area("Description"),
        _pick("Type", ("Call", "Email", "Meeting", "Other")),
        _ref("AccountId", "Account", read_only=True),
        _bool("IsClosed", label="Closed", read_only=True),
        _bool("IsArchived", label="Archived", read_only=True),
        _int("CallDurationInSeconds", label="Call Duration"),
        _pick("CallType", ("Internal", "Inbound", "Outbound")),
        _text("CallDisposition", 255, label="Call Result"),
        _text("CallObject", 255, label="Call Object Identifier"),
        _datetime("ReminderDateTime", label="Reminder Date/Time"),
        _bool("IsReminderSet", label="Reminder Set"),
        _pick("TaskSubtype", ("Task", "Email", "ListEmail", "Cadence", "Call")),
        _ro("CompletedDateTime", "datetime"),
    ),
    _object(
        "User",
        "Users",
        "005",
        _audit(deletable=False),
        _text("Username", 80, required=True),
        _text("LastName", 80, required=True),
        _text("FirstName", 40),
        _f("Name", "string", 121, label="Full Name", nillable=False, read_only=True),
        _text("CompanyName", 80),
        _text("Division", 80),
        _text("Department", 80),
        _text("Title", 80),
        _address(),
        _email("Email", 128),
        _phone("Phone"),
        _phone("Fax"),
        _phone("MobilePhone", label="Mobile"),
        _text("Alias", 8, required=True),
        _text("CommunityNickname", 40, required=True, label="Nickname"),
        _bool("IsActive", label="Active"),
        _pick("TimeZoneSidKey", required=True, label="Time Zone"),
        _ref("UserRoleId", "UserRole", label="Role ID"),
        _pick("LocaleSidKey", required=True, label="Locale"),
        _pick("EmailEncodingKey", required=True, label="Email Encoding"),
        _ref("ProfileId", "Profile", required=True),
        _pick("UserType", read_only=True),
        _pick("LanguageLocaleKey", required=True, label="Language"),
        _text("EmployeeNumber", 20),
        _ref("ManagerId", "User", "Manager"),
        _ro("LastLoginDate", "datetime"),
        _text("FederationIdentifier", 512, label="SAML Federation ID"),
        _area("AboutMe", 1000),
        _ref("ContactId", "Contact", updateable=False),
        _ref("AccountId", "Account", read_only=True),
        _ro("SmallPhotoUrl", "url", 1024, label="Photo"),
        _ro("FullPhotoUrl", "url", 1024, label="Url for full-sized Photo"),
        _viewed(),
    ),
    _object(
        "Group",
        "Groups",
        "00G",
        _audit(deletable=False),
        _text("Name", 40, required=True),
        _text("DeveloperName", 80, label="Developer Name"),
        _ref("RelatedId", ("User", "UserRole"), "Related", read_only=True),
        _pick("Type", ("Regular", "Role", "RoleAndSubordinates", "Queue"), required=True),
        _email("Email", 255),
        _ref("OwnerId", "User", "Owner", defaulted=True),
        _bool("DoesSendEmailToMembers", label="Send Email to Members"),
        _bool("DoesIncludeBosses", label="Include Bosses"),
    ),
    _object(
        "UserRole",
        "Roles",
        "00E",
        _audit(deletable=False, created=False),
        _text("Name", 80, required=True),
        _text("DeveloperName", 80),
        _ref("ParentRoleId", "UserRole", "ParentRole", label="Parent Role ID"),
        _text("RollupDescription", 80, label="Description"),
        label="Role",
    ),
    _object(
        "Profile",
        "Profiles",
        "00e",
        _audit(deletable=False),
        _text("Name", 255, required=True),
        _pick("UserType", read_only=True),
        _text("Description", 255),
        _permissions(),
        _viewed(),
        createable=False,
    ),
    _object(
        "RecordType",
        "Record Types",
        "012",
        _audit(deletable=False),
        _text("Name", 80, required=True),
        _text("DeveloperName", 80, required=True, label="Record Type Name"),
        _ro("NamespacePrefix", "string", 15),
        _text("Description", 255),
        _pick("SobjectType", required=True, label="Sobject Type Name"),
        _bool("IsActive", label="Active"),
        createable=False,
    ),
    _object(
        "Organization",
        "Organizations",
        "00D",
        _audit(deletable=False),
        _text("Name", 80, required=True),
        _text("Division", 80),
        _address(),
        _phone("Phone"),
        _phone("Fax"),
        _text("PrimaryContact", 80),
        _pick("DefaultLocaleSidKey", required=True, label="Locale"),
        _pick("TimeZoneSidKey", required=True, label="Time Zone"),
        _pick("LanguageLocaleKey", required=True, label="Language"),
        _pick("OrganizationType", ORGANIZATION_TYPES, label="Edition", read_only=True),
        _bool("IsSandbox", read_only=True),
        _ro("InstanceName", "string", 5),
        _ro("NamespacePrefix", "string", 15),
        _ro("TrialExpirationDate", "datetime"),
        createable=False,
    ),
    # The running user's effective permissions, one row, queried without View Setup (API 41.0+).
    # It is no stored entity: the row's Id is all zeros, hence the prefix.
    _object(
        "UserPermissionAccess",
        "User Permission Access",
        "000",
        _id(),
        _ro("LastCacheUpdate", "datetime"),
        _permissions(),
        createable=False,
    ),
    _object(
        "Product2",
        "Products",
        "01t",
        _audit(),
        _text("Name", 255, required=True, label="Product Name"),
        _text("ProductCode", 255),
        _area("Description", 4000, label="Product Description"),
        _bool("IsActive", label="Active"),
        _pick("Family", label="Product Family"),
        _text("ExternalId", 255, label="External ID"),
        _f("DisplayUrl", "url", 1000),
        _pick("QuantityUnitOfMeasure", ("Each",), label="Quantity Unit Of Measure"),
        _text("StockKeepingUnit", 180, label="Product SKU"),
        _bool("IsArchived", label="Archived", read_only=True),
        _viewed(),
        label="Product",
    ),
    _object(
        "Pricebook2",
        "Price Books",
        "01s",
        _audit(),
        _text("Name", 255, required=True, label="Price Book Name"),
        _bool("IsActive", label="Active"),
        _bool("IsArchived", label="Archived", read_only=True),
        _text("Description", 255),
        _bool("IsStandard", label="Is Standard Price Book", read_only=True),
        _viewed(),
        label="Price Book",
    ),
    _object(
        "PricebookEntry",
        "Price Book Entries",
        "01u",
        _audit(),
        _ro("Name", "string", 255, label="Product Name"),
        _ref("Pricebook2Id", "Pricebook2", required=True, updateable=False),
        _ref("Product2Id", "Product2", required=True, updateable=False),
        _money("UnitPrice", label="List Price"),
        _bool("IsActive", label="Active"),
        _bool("UseStandardPrice", label="Use Standard Price"),
        _ro("ProductCode", "string", 255),
        _bool("IsArchived", label="Archived", read_only=True),
        label="Price Book Entry",
    ),
    _object(
        "Asset",
        "Assets",
        "02i",
        _audit(),
        _ref("ContactId", "Contact"),
        _ref("AccountId", "Account"),
        _ref("ParentId", "Asset", "Parent"),
        _ref("RootAssetId", "Asset", "RootAsset", read_only=True),
        _ref("Product2Id", "Product2"),
        _ro("ProductCode", "string", 255),
        _bool("IsCompetitorProduct", label="Competitor Asset"),
        _text("Name", 255, required=True, label="Asset Name"),
        _text("SerialNumber", 80),
        _date("InstallDate"),
        _date("PurchaseDate"),
        _date("UsageEndDate"),
        _pick("Status", ("Purchased", "Shipped", "Installed", "Registered", "Obsolete")),
        _money("Price"),
        _number("Quantity"),
        _area("Description"),
        _owner(),
        _ref("AssetProvidedById", "Account", "AssetProvidedBy"),
        _ref("AssetServicedById", "Account", "AssetServicedBy"),
        _ro("StockKeepingUnit", "string", 180, label="Product SKU"),
        _viewed(),
    ),
    _object(
        "Contract",
        "Contracts",
        "800",
        _audit(),
        _ref("AccountId", "Account", required=True),
        _ref("Pricebook2Id", "Pricebook2"),
        _pick(
            "OwnerExpirationNotice",
            ("15", "30", "45", "60", "90", "120"),
            label="Owner Expiration Notice",
        ),
        _date("StartDate", label="Contract Start Date"),
        _ro("EndDate", "date", label="Contract End Date"),
        _address("Billing"),
        _int("ContractTerm", label="Contract Term"),
        _owner(),
        _pick(
            "Status",
            ("In Approval Process", "Activated", "Draft"),
            required=True,
            defaulted=True,
        ),
        _ref("CompanySignedId", "User", "CompanySigned", label="Company Signed By ID"),
        _date("CompanySignedDate"),
        _ref("CustomerSignedId", "Contact", "CustomerSigned", label="Customer Signed By ID"),
        _text("CustomerSignedTitle", 40),
        _date("CustomerSignedDate"),
        _area("SpecialTerms", 4000),
        _ref("ActivatedById", "User", "ActivatedBy", read_only=True),
        _ro("ActivatedDate", "datetime"),
        _pick(
            "StatusCode",
            ("Draft", "InApproval", "Activated", "Terminated", "Expired"),
            read_only=True,
        ),
        _area("Description"),
        _text("Name", 80, label="Contract Name"),
        _ro("ContractNumber", "string", 30),
        _ro("LastApprovedDate", "datetime"),
        _ro("LastActivityDate", "date"),
        _viewed(),
    ),
    _object(
        "Order",
        "Orders",
        "801",
        _audit(),
        _owner("Group", "User"),
        _ref("ContractId", "Contract"),
        _ref("AccountId", "Account"),
        _ref("Pricebook2Id", "Pricebook2"),
        _ref("OriginalOrderId", "Order", "OriginalOrder", updateable=False),
        _date("EffectiveDate", label="Order Start Date", required=True),
        _date("EndDate", label="Order End Date"),
        _f("IsReductionOrder", "boolean", nillable=False, defaulted=True, updateable=False),
        _pick("Status", ("Draft", "Activated"), required=True),
        _area("Description"),
        _ref("CustomerAuthorizedById", "Contact", "CustomerAuthorizedBy"),
        _date("CustomerAuthorizedDate"),
        _ref("CompanyAuthorizedById", "User", "CompanyAuthorizedBy"),
        _date("CompanyAuthorizedDate"),
        _pick("Type", label="Order Type"),
        _address("Billing"),
        _address("Shipping"),
        _text("Name", 80, label="Order Name"),
        _date("PoDate", label="PO Date"),
        _text("PoNumber", 80, label="PO Number"),
        _text("OrderReferenceNumber", 80),
        _ref("BillToContactId", "Contact", "BillToContact"),
        _ref("ShipToContactId", "Contact", "ShipToContact"),
        _datetime("ActivatedDate"),
        _ref("ActivatedById", "User", "ActivatedBy"),
        _pick("StatusCode", ("Draft", "Activated", "Canceled", "Expired"), read_only=True),
        _ro("OrderNumber", "string", 30),
        _money("TotalAmount", label="Order Amount", read_only=True),
        _viewed(),
    ),
    _object(
        "OrderItem",
        "Order Products",
        "802",
        _audit(),
        _ref("Product2Id", "Product2", updateable=False),
        _ref("OrderId", "Order", required=True, updateable=False),
        _ref("PricebookEntryId", "PricebookEntry", required=True, updateable=False),
        _ref("OriginalOrderItemId", "OrderItem", "OriginalOrderItem", updateable=False),
        _number("AvailableQuantity", read_only=True),
        _number("Quantity", required=True),
        _money("UnitPrice", label="Unit Price"),
        _money("ListPrice", read_only=True),
        _money("TotalPrice", read_only=True),
        _date("ServiceDate", label="Start Date"),
        _date("EndDate"),
        _text("Description", 255, label="Line Description"),
        _ro("OrderItemNumber", "string", 30),
        label="Order Product",
    ),
    _object(
        "Note",
        "Notes",
        "002",
        _audit(),
        _ref("ParentId", _PARENTS + _WHO, "Parent", required=True, updateable=False),
        _text("Title", 80, required=True),
        _bool("IsPrivate", label="Private"),
        _area("Body"),
        _owner(),
    ),
    _object(
        "Attachment",
        "Attachments",
        "00P",
        _audit(),
        _ref("ParentId", _PARENTS + _WHO, "Parent", required=True, updateable=False),
        _text("Name", 255, required=True, label="File Name"),
        _bool("IsPrivate", label="Private"),
        _text("ContentType", 120),
        _f("BodyLength", "int", digits=8, read_only=True, label="Body Length"),
        _f("Body", "base64", nillable=False),
        _owner(),
        _area("Description", 500),
    ),
    _object(
        "ContentVersion",
        "Content Versions",
        "068",
        _audit(),
        _ref("ContentDocumentId", "ContentDocument", updateable=False),
        _bool("IsLatest", read_only=True),
        _ro("VersionNumber", "string", 20),
        _text("Title", 255, required=True),
        _area("Description", 1000),
        _text("ReasonForChange", 1000),
        _text("PathOnClient", 500),
        _f("VersionData", "base64"),
        _f("ContentSize", "int", digits=8, read_only=True, label="Size"),
        _ro("FileType", "string", 20),
        _ro("FileExtension", "string", 40),
        _ref(
            "FirstPublishLocationId",
            _PARENTS + _WHO + ("User",),
            "FirstPublishLocation",
            updateable=False,
        ),
        _pick("Origin", ("C", "H"), defaulted=True),
        _owner(),
    ),
    _object(
        "ContentDocument",
        "Content Documents",
        "069",
        _audit(),
        _text("Title", 255, required=True),
        _area("Description", 1000),
        _ro("FileType", "string", 20),
        _ro("FileExtension", "string", 40),
        _f("ContentSize", "int", digits=8, read_only=True, label="Size"),
        _ref("LatestPublishedVersionId", "ContentVersion", read_only=True),
        _owner(),
        createable=False,
    ),
    _object(
        "ContentDocumentLink",
        "Content Document Links",
        "06A",
        _id(),
        _bool("IsDeleted", label="Deleted", read_only=True),
        _f("SystemModstamp", "datetime", nillable=False, read_only=True, defaulted=True),
        _ref(
            "LinkedEntityId",
            _PARENTS + _WHO + ("User",),
            "LinkedEntity",
            required=True,
            updateable=False,
        ),
        _ref("ContentDocumentId", "ContentDocument", required=True, updateable=False),
        _pick("ShareType", ("V", "C", "I"), defaulted=True),
        _pick("Visibility", ("AllUsers", "InternalUsers", "SharedUsers"), defaulted=True),
    ),
)

STANDARD_OBJECTS: Mapping[str, StandardObject] = {obj.name: obj for obj in _OBJECTS}
_BY_FOLDED_NAME: dict[str, StandardObject] = {obj.name.lower(): obj for obj in _OBJECTS}

# Fields the platform adds to every custom object (an object that is the detail side of a
# master-detail relationship has no OwnerId, which a lookup here cannot know).
CUSTOM_OBJECT_FIELDS: tuple[StandardField, ...] = (
    *_audit(),
    _owner("Group", "User"),
    _f("Name", "string", 80, defaulted=True),
    _ro("LastActivityDate", "date"),
    *_viewed(),
)

# Fields every custom metadata type has (Object Reference, "Custom Metadata Type__mdt").
CUSTOM_METADATA_FIELDS: tuple[StandardField, ...] = (
    *_audit(deletable=False),
    _f("DeveloperName", "string", 40, label="Custom Metadata Record Name", defaulted=True),
    _f("MasterLabel", "string", 40, label="Label"),
    _f("Label", "string", 40),
    _f("Language", "picklist", 40),
    _ro("NamespacePrefix", "string", 15),
    _ro("QualifiedApiName", "string", 70),
    _bool("IsProtected", label="Protected Component"),
)

# Fields that appear on an object once an org feature is on: record types, multiple currencies.
FEATURE_FIELDS: tuple[StandardField, ...] = (
    _ref("RecordTypeId", "RecordType", "RecordType", label="Record Type ID"),
    _pick("CurrencyIsoCode", label="Currency ISO Code", defaulted=True),
)

# Fields the platform keeps on every record and nobody defines or changes: a package that
# has a field of one of these names means a custom field and forgot its __c.
SYSTEM_FIELDS: frozenset[str] = frozenset(
    f.name.lower() for f in (*_audit(), *_viewed(), _ro("LastActivityDate", "date"))
)

_CUSTOM_BY_NAME = {f.name.lower(): f for f in CUSTOM_OBJECT_FIELDS}
_METADATA_TYPE_BY_NAME = {f.name.lower(): f for f in CUSTOM_METADATA_FIELDS}
_FEATURE_BY_NAME = {f.name.lower(): f for f in FEATURE_FIELDS}


def standard_object(name: str) -> StandardObject | None:
    """The standard object called ``name`` (case-insensitive), None if this table lacks it."""
    return _BY_FOLDED_NAME.get(name.lower())


def is_standard_object(name: str) -> bool:
    return name.lower() in _BY_FOLDED_NAME


def standard_field(object_name: str, field_name: str) -> StandardField | None:
    """A field Salesforce provides on ``object_name`` without the package defining it.

    For a custom object that is the system fields every custom object gets (a custom metadata
    type's own set for ``__mdt``); for a standard object, its fields from the table. Either way
    the record-type and currency fields count, since a layout or permission set may name them
    once the org turns those features on.
    """
    key = field_name.lower()
    if object_name.endswith("__c"):
        found = _CUSTOM_BY_NAME.get(key)
    elif object_name.endswith("__mdt"):
        found = _METADATA_TYPE_BY_NAME.get(key)
    else:
        obj = standard_object(object_name)
        if obj is None:
            return None
        found = obj.field(key)
    return found if found is not None else _FEATURE_BY_NAME.get(key)
