"""Identity, auth, versions and limits of the local org, driven over real HTTPS on loopback."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession
from simple_salesforce.login import SalesforceLogin

from toolkit.localorg.identity import DEFAULT_CLIENT_ID, DEFAULT_PASSWORD, release_label

if TYPE_CHECKING:
    from tests.localorg.conftest import OrgHttp

API_VERSION = "63.0"  # what the conftest's clients use
USERNAME = "admin@local.sftk"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PARTNER = "urn:partner.soap.sforce.com"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


# ---------------------------------------------------------------- helpers


def _facts(http: OrgHttp) -> dict[str, Any]:
    answer = http.get("/_sftk/org")
    assert answer.status_code == 200
    facts: dict[str, Any] = answer.json()
    return facts


@pytest.fixture
def facts_restored(http: OrgHttp) -> Iterator[None]:
    """Tests that change org facts or credentials leave the module's org as they found it."""
    before = {k: v for k, v in _facts(http).items() if k not in ("org_id", "user_id")}
    yield
    assert http.patch("/_sftk/org", json=before).status_code == 200
    assert http.post("/_sftk/credentials", json={"password": DEFAULT_PASSWORD}).status_code == 204


def _token(http: OrgHttp, **form: str) -> requests.Response:
    return http.post("/services/oauth2/token", auth=False, data=form)


def _password_grant(http: OrgHttp, password: str = DEFAULT_PASSWORD, **extra: str) -> Any:
    form = {"grant_type": "password", "client_id": DEFAULT_CLIENT_ID, "username": USERNAME}
    return _token(http, **{**form, "password": password, **extra})


def _soap_login(http: OrgHttp, password: str, token: str = "") -> tuple[str, str]:
    """simple-salesforce's own SOAP login, byte-for-byte its envelope (scratch_url points it
    at us instead of login.salesforce.com)."""
    result: tuple[str, str] = SalesforceLogin(
        username=USERNAME,
        password=password,
        security_token=token,
        session=http.session,
        scratch_url=http.org.instance_url,
        sf_version=API_VERSION,
    )
    return result


def _post_soap(
    http: OrgHttp, body: bytes | str, path: str = f"/services/Soap/u/{API_VERSION}"
) -> requests.Response:
    return http.post(
        path, auth=False, data=body, headers={"Content-Type": "text/xml", "SOAPAction": "login"}
    )


def _login_envelope(username: str, password: str, namespace: str = PARTNER) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body>'
        f'<p:login xmlns:p="{namespace}"><p:username>{username}</p:username>'
        f"<p:password>{password}</p:password></p:login></s:Body></s:Envelope>"
    )


def _fault(answer: requests.Response) -> tuple[str, str]:
    root = etree.fromstring(answer.content)
    fault = root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert fault is not None, answer.text
    return fault.findtext("faultcode") or "", fault.findtext("faultstring") or ""


def _result_text(answer: requests.Response, name: str) -> str | None:
    root = etree.fromstring(answer.content)
    return root.findtext(f".//{{{PARTNER}}}{name}")


class _Signer:
    """A key pair and self-signed certificate, as a user makes for a JWT connected app."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jwt test app")])
        now = dt.datetime.now(dt.UTC)
        self.cert_pem = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .sign(self.key, hashes.SHA256())
            .public_bytes(serialization.Encoding.PEM)
            .decode("ascii")
        )
        self.key_pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def assertion(self, **claims: Any) -> str:
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=3)
        payload = {  # simple-salesforce sends exp as a string; so do we by default
            "iss": "jwt-app",
            "sub": USERNAME,
            "aud": "https://login.salesforce.com",
            "exp": f"{expires.timestamp():.0f}",
            **claims,
        }
        return jwt.encode(payload, self.key_pem, algorithm="RS256")


@pytest.fixture(scope="module")
def signer(http: OrgHttp) -> _Signer:
    made = _Signer()
    answer = http.post(
        "/_sftk/connected-apps", json={"consumer_key": "jwt-app", "certificate": made.cert_pem}
    )
    assert answer.status_code == 201, answer.text
    return made


def _jwt_grant(http: OrgHttp, assertion: str) -> requests.Response:
    return _token(http, grant_type=JWT_GRANT, assertion=assertion)


def _oauth_error(answer: requests.Response) -> tuple[int, str, str]:
    body = answer.json()
    return answer.status_code, body["error"], body["error_description"]


# ---------------------------------------------------------------- versions


def test_versions_list_needs_no_token_and_names_real_releases(http: OrgHttp) -> None:
    answer = http.get("/services/data", auth=False)
    assert answer.status_code == 200
    versions = answer.json()
    numbers = [entry["version"] for entry in versions]
    assert numbers == [f"{n}.0" for n in range(51, 67)]
    by_version = {entry["version"]: entry for entry in versions}
    assert by_version["60.0"] == {
        "label": "Spring '24",
        "url": "/services/data/v60.0",
        "version": "60.0",
    }
    assert by_version["51.0"]["label"] == "Spring '21"
    assert by_version["59.0"]["label"] == "Winter '24"
    assert by_version["62.0"]["label"] == "Winter '25"
    assert by_version["64.0"]["label"] == "Summer '25"
    assert by_version["66.0"]["label"] == "Spring '26"
    assert release_label(67) == "Summer '26"


def test_version_resource_lists_resources_and_unknown_versions_are_404(http: OrgHttp) -> None:
    resources = http.get(f"/services/data/v{API_VERSION}").json()
    assert resources["limits"] == f"/services/data/v{API_VERSION}/limits"
    assert resources["sobjects"] == f"/services/data/v{API_VERSION}/sobjects"
    assert resources["identity"].startswith(http.org.instance_url + "/id/00D")
    for version in ("99.0", "50.0", "30.0"):
        for path in (f"/services/data/v{version}", f"/services/data/v{version}/limits"):
            answer = http.get(path)
            assert answer.status_code == 404, path
            assert answer.json() == [
                {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}
            ]


def test_version_outside_the_list_refused_on_soap_login(http: OrgHttp) -> None:
    answer = _post_soap(http, _login_envelope(USERNAME, DEFAULT_PASSWORD), "/services/Soap/u/99.0")
    assert answer.status_code == 500
    assert _fault(answer) == (
        "sf:UNSUPPORTED_API_VERSION",
        "UNSUPPORTED_API_VERSION: Invalid Api version specified on URL",
    )


def test_changing_the_newest_version_changes_the_list(http: OrgHttp, facts_restored: None) -> None:
    assert http.patch("/_sftk/org", json={"api_version_max": "62.0"}).status_code == 200
    assert http.get("/services/data", auth=False).json()[-1]["version"] == "62.0"
    assert http.get("/services/data/v63.0/limits").status_code == 404


# ---------------------------------------------------------------- tokens


def test_token_required_with_salesforce_401_shape(http: OrgHttp) -> None:
    expected = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    for kwargs in ({"auth": False}, {"token": "00D000000000001!forged"}, {"token": "x" * 5000}):
        answer = http.get(f"/services/data/v{API_VERSION}/limits", **kwargs)
        assert answer.status_code == 401
        assert answer.json() == expected
    answer = http.get("/_sftk/org", auth=False)
    assert answer.status_code == 401


def test_oauth_scheme_accepted_like_bearer(http: OrgHttp) -> None:
    answer = http.get(
        f"/services/data/v{API_VERSION}/limits",
        auth=False,
        headers={"Authorization": f"OAuth {http.org.access_token}"},
    )
    assert answer.status_code == 200


def test_simple_salesforce_with_a_bad_token_sees_expired_session(http: OrgHttp) -> None:
    with pytest.raises(SalesforceExpiredSession):
        http.salesforce(token="00D000000000001!not-a-session").limits()


# ---------------------------------------------------------------- OAuth grants


def test_password_grant_answers_salesforce_shape_and_token_works(http: OrgHttp) -> None:
    answer = _password_grant(http)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
    }
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == http.org.instance_url
    assert body["id"].startswith(http.org.instance_url + "/id/00D")
    assert body["issued_at"].isdigit()
    assert body["access_token"] != http.org.access_token
    assert body["access_token"].startswith(_facts(http)["org_id"][:15] + "!")
    limits = http.salesforce(token=body["access_token"]).limits()
    assert "DailyApiRequests" in limits


def test_password_grant_refusals(http: OrgHttp) -> None:
    assert _oauth_error(_password_grant(http, "wrong")) == (
        400,
        "invalid_grant",
        "authentication failure",
    )
    assert _oauth_error(_password_grant(http, username="someone@else.example")) == (
        400,
        "invalid_grant",
        "authentication failure",
    )
    assert _oauth_error(_password_grant(http, client_id="unknown-app")) == (
        400,
        "invalid_client_id",
        "client identifier invalid",
    )
    assert _oauth_error(_token(http, grant_type="client_credentials")) == (
        400,
        "unsupported_grant_type",
        "grant type not supported",
    )
    assert _oauth_error(_token(http)) == (400, "unsupported_grant_type", "grant type not supported")


def test_password_and_security_token_are_sent_concatenated(
    http: OrgHttp, facts_restored: None
) -> None:
    answer = http.post(
        "/_sftk/credentials", json={"password": "N3w&<pass>", "security_token": "TOKEN123"}
    )
    assert answer.status_code == 204
    assert _password_grant(http, "N3w&<pass>").status_code == 400
    assert _password_grant(http, "N3w&<pass>TOKEN123").status_code == 200
    assert _password_grant(http, DEFAULT_PASSWORD).status_code == 400
    session_id, instance = _soap_login(http, "N3w&<pass>", "TOKEN123")
    assert instance == http.org.instance_url.removeprefix("https://")
    assert http.get("/services/oauth2/userinfo", token=session_id).status_code == 200
    with pytest.raises(SalesforceAuthenticationFailed) as failed:
        _soap_login(http, "N3w&<pass>")
    assert failed.value.code == "INVALID_LOGIN"
    assert http.post("/_sftk/credentials", json={"password": ""}).status_code == 400


def test_app_with_a_secret_requires_it(http: OrgHttp) -> None:
    created = http.post(
        "/_sftk/connected-apps", json={"consumer_key": "secret-app", "consumer_secret": "s3cr3t"}
    )
    assert created.status_code == 201
    assert created.json()["has_secret"] is True
    assert "s3cr3t" not in http.get("/_sftk/connected-apps").text
    refused = _password_grant(http, client_id="secret-app", client_secret="nope")
    assert _oauth_error(refused) == (400, "invalid_client", "invalid client credentials")
    assert _password_grant(http, client_id="secret-app", client_secret="s3cr3t").status_code == 200


def test_refresh_token_grant(http: OrgHttp) -> None:
    issued = http.post("/_sftk/refresh-tokens", json={})
    assert issued.status_code == 201
    refresh = issued.json()["refresh_token"]
    answer = _token(http, grant_type="refresh_token", refresh_token=refresh)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert http.get("/services/oauth2/userinfo", token=body["access_token"]).status_code == 200
    again = _token(http, grant_type="refresh_token", refresh_token=refresh).json()
    assert again["access_token"] != body["access_token"]
    assert _oauth_error(_token(http, grant_type="refresh_token", refresh_token="5Aepbogus")) == (
        400,
        "invalid_grant",
        "expired access/refresh token",
    )
    wrong_client = _token(
        http, grant_type="refresh_token", refresh_token=refresh, client_id="secret-or-other"
    )
    assert _oauth_error(wrong_client)[1] == "invalid_client_id"
    # an access token is not a refresh token
    assert (
        _token(http, grant_type="refresh_token", refresh_token=http.org.access_token).status_code
        == 400
    )


def test_jwt_bearer_grant_with_registered_certificate(http: OrgHttp, signer: _Signer) -> None:
    answer = _jwt_grant(http, signer.assertion())
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    assert http.salesforce(token=token).limits()["DailyApiRequests"]["Max"] > 0
    numeric_exp = signer.assertion(exp=int(time.time()) + 120, aud=http.org.instance_url)
    assert _jwt_grant(http, numeric_exp).status_code == 200


def test_jwt_bearer_refusals(http: OrgHttp, signer: _Signer) -> None:
    other = _Signer()
    cases = {
        "signed by another key": (other.assertion(), "invalid_grant", "invalid assertion"),
        "unknown issuer": (
            signer.assertion(iss="nobody"),
            "invalid_client_id",
            "client identifier invalid",
        ),
        "wrong audience": (
            signer.assertion(aud="https://test.salesforce.com"),
            "invalid_grant",
            "audience is invalid",
        ),
        "other user": (
            signer.assertion(sub="other@local.sftk"),
            "invalid_grant",
            "user hasn't approved this consumer",
        ),
        "expired": (
            signer.assertion(exp=int(time.time()) - 5),
            "invalid_grant",
            "expired authorization code",
        ),
        "not a JWT": ("abc.def", "invalid_grant", "invalid assertion"),
        "garbage parts": ("!!!.???.***", "invalid_grant", "invalid assertion"),
        "app without certificate": (
            signer.assertion(iss=DEFAULT_CLIENT_ID),
            "invalid_grant",
            "invalid assertion",
        ),
    }
    for case, (assertion, error, description) in cases.items():
        assert _oauth_error(_jwt_grant(http, assertion)) == (400, error, description), case
    hs256 = jwt.encode({"iss": "jwt-app", "sub": USERNAME}, "shared-secret-long-enough-for-hs256")
    assert _oauth_error(_jwt_grant(http, hs256))[2] == "invalid assertion"


def test_jwt_audience_follows_the_sandbox_flag(
    http: OrgHttp, signer: _Signer, facts_restored: None
) -> None:
    assert http.patch("/_sftk/org", json={"is_sandbox": True}).status_code == 200
    sandbox = signer.assertion(aud="https://test.salesforce.com")
    assert _jwt_grant(http, sandbox).status_code == 200
    assert _oauth_error(_jwt_grant(http, signer.assertion()))[2] == "audience is invalid"


def test_connected_app_registration_checks_the_certificate(http: OrgHttp) -> None:
    bad = http.post("/_sftk/connected-apps", json={"consumer_key": "x", "certificate": "nope"})
    assert bad.status_code == 400
    assert "PEM" in bad.json()[0]["message"]
    assert http.post("/_sftk/connected-apps", json={"consumer_key": "has space"}).status_code == 400
    assert http.post("/_sftk/connected-apps", data=b"{not json").status_code == 400
    made = http.post("/_sftk/connected-apps", json={"consumer_key": "short-lived"})
    assert made.status_code == 201
    assert http.delete("/_sftk/connected-apps/short-lived").status_code == 204
    assert http.delete("/_sftk/connected-apps/short-lived").status_code == 404


# ---------------------------------------------------------------- userinfo and facts


def test_userinfo_reflects_the_org_facts(http: OrgHttp, facts_restored: None) -> None:
    facts = _facts(http)
    info = http.get("/services/oauth2/userinfo").json()
    assert info["user_id"] == facts["user_id"]
    assert info["organization_id"] == facts["org_id"]
    assert info["preferred_username"] == USERNAME
    assert info["email"] == facts["email"]
    change = {"email": "ops@example.test", "first_name": "Ada", "last_name": "Lovelace"}
    patched = http.patch("/_sftk/org", json=change)
    assert patched.status_code == 200
    assert patched.json()["email"] == "ops@example.test"
    info = http.get("/services/oauth2/userinfo").json()
    assert (info["email"], info["name"]) == ("ops@example.test", "Ada Lovelace")
    identity = http.get(info["sub"].removeprefix(http.org.instance_url)).json()
    assert identity["display_name"] == "Ada Lovelace"
    assert identity["urls"]["rest"].endswith("/services/data/v{version}/")


def test_facts_patch_refuses_bad_values(http: OrgHttp) -> None:
    for change in (
        {"no_such_fact": 1},
        {"is_sandbox": "yes"},
        {"daily_api_requests": -1},
        {"organization_type": "Gold Edition"},
        {"permissions": ["FlyPlanes"]},
        {"api_version_max": "sixty"},
        {"api_version_min": "65.0", "api_version_max": "60.0"},
        {"org_id": "00D000000000002"},
    ):
        answer = http.patch("/_sftk/org", json=change)
        assert answer.status_code == 400, change
        assert answer.json()[0]["errorCode"] == "INVALID_FIELD"
    assert http.patch("/_sftk/org", json=["a list"]).status_code == 400


# ---------------------------------------------------------------- SOAP login


def test_soap_login_with_simple_salesforce_envelope(http: OrgHttp) -> None:
    session_id, instance = _soap_login(http, DEFAULT_PASSWORD)
    assert instance == http.org.instance_url.removeprefix("https://")
    sf = http.salesforce(token=session_id)
    assert sf.limits()["DailyApiRequests"]["Remaining"] >= 0


def test_soap_login_result_and_sandbox_flag(http: OrgHttp, facts_restored: None) -> None:
    envelope = _login_envelope(USERNAME, DEFAULT_PASSWORD)
    answer = _post_soap(http, envelope)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/xml")
    facts = _facts(http)
    org15 = facts["org_id"][:15]
    assert _result_text(answer, "sandbox") == "false"
    assert _result_text(answer, "passwordExpired") == "false"
    assert _result_text(answer, "serverUrl") == (
        f"{http.org.instance_url}/services/Soap/u/{API_VERSION}/{org15}"
    )
    assert _result_text(answer, "metadataServerUrl") == (
        f"{http.org.instance_url}/services/Soap/m/{API_VERSION}/{org15}"
    )
    assert _result_text(answer, "userId") == facts["user_id"]
    assert _result_text(answer, "organizationId") == facts["org_id"]
    assert _result_text(answer, "userName") == USERNAME
    assert _result_text(answer, "sessionSecondsValid") == "7200"
    assert (_result_text(answer, "profileId") or "").startswith("00e")
    root = etree.fromstring(answer.content)
    result = root.find(f".//{{{PARTNER}}}result")
    assert result is not None
    assert [etree.QName(e).localname for e in result] == [
        "metadataServerUrl",
        "passwordExpired",
        "sandbox",
        "serverUrl",
        "sessionId",
        "userId",
        "userInfo",
    ]
    patched = http.patch(
        "/_sftk/org", json={"is_sandbox": True, "email": "qa@example.test", "profile": "Standard"}
    )
    assert patched.status_code == 200
    again = _post_soap(http, envelope)
    assert _result_text(again, "sandbox") == "true"
    assert _result_text(again, "userEmail") == "qa@example.test"
    assert _result_text(again, "profileId") != _result_text(answer, "profileId")


def test_soap_login_on_enterprise_endpoint(http: OrgHttp) -> None:
    enterprise = "urn:enterprise.soap.sforce.com"
    answer = _post_soap(
        http,
        _login_envelope(USERNAME, DEFAULT_PASSWORD, enterprise),
        f"/services/Soap/c/{API_VERSION}/extra",
    )
    assert answer.status_code == 200
    root = etree.fromstring(answer.content)
    server_url = root.findtext(f".//{{{enterprise}}}serverUrl") or ""
    assert f"/services/Soap/c/{API_VERSION}/" in server_url


def test_soap_login_bad_credentials_is_an_invalid_login_fault(http: OrgHttp) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as failed:
        _soap_login(http, "wrong-password")
    assert failed.value.code == "INVALID_LOGIN"
    assert failed.value.auth_message == (
        "Invalid username, password, security token; or user locked out."
    )
    answer = _post_soap(http, _login_envelope("nobody@example.test", DEFAULT_PASSWORD))
    assert answer.status_code == 500
    assert _fault(answer) == (
        "sf:INVALID_LOGIN",
        "INVALID_LOGIN: Invalid username, password, security token; or user locked out.",
    )
    root = etree.fromstring(answer.content)
    detail = root.find(".//{urn:fault.partner.soap.sforce.com}LoginFault")
    assert detail is not None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<not-xml",
        b"\xff\xfe\x00garbage",
        b"<a>plain xml, not an envelope</a>",
        f'<s:Envelope xmlns:s="{SOAP_ENV}"/>'.encode(),
        f'<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body/></s:Envelope>'.encode(),
        _login_envelope(USERNAME, DEFAULT_PASSWORD, "urn:wrong.example").encode(),
        (
            f'<!DOCTYPE x [<!ENTITY e "{DEFAULT_PASSWORD}">]>' + _login_envelope(USERNAME, "&e;")
        ).encode(),
        (
            f'<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body><p:query xmlns:p="{PARTNER}"/></s:Body>'
            "</s:Envelope>"
        ).encode(),
    ],
)
def test_malformed_soap_is_a_client_fault_not_a_crash(http: OrgHttp, body: bytes) -> None:
    answer = _post_soap(http, body)
    assert answer.status_code == 500
    code, message = _fault(answer)
    assert code == "soapenv:Client"
    assert message


def test_soap_login_without_password_element_is_invalid_login(http: OrgHttp) -> None:
    body = (
        f'<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body><p:login xmlns:p="{PARTNER}">'
        f"<p:username>{USERNAME}</p:username></p:login></s:Body></s:Envelope>"
    )
    assert _fault(_post_soap(http, body))[0] == "sf:INVALID_LOGIN"


def test_soap_get_user_info_needs_a_session(http: OrgHttp) -> None:
    def call(session: str) -> requests.Response:
        return _post_soap(
            http,
            f'<e:Envelope xmlns:e="{SOAP_ENV}" xmlns:u="{PARTNER}"><e:Header><u:SessionHeader>'
            f"<u:sessionId>{session}</u:sessionId></u:SessionHeader></e:Header>"
            "<e:Body><u:getUserInfo/></e:Body></e:Envelope>",
        )

    answer = call(http.org.access_token)
    assert answer.status_code == 200
    assert _result_text(answer, "userName") == USERNAME
    assert _fault(call("forged"))[0] == "sf:INVALID_SESSION_ID"


# ---------------------------------------------------------------- limits


def _remaining(http: OrgHttp) -> int:
    answer = http.get(f"/services/data/v{API_VERSION}/limits")
    assert answer.status_code == 200
    remaining: int = answer.json()["DailyApiRequests"]["Remaining"]
    return remaining


def test_limits_count_real_calls_but_not_control_or_logins(http: OrgHttp, sf: Any) -> None:
    first = _remaining(http)
    http.get("/services/oauth2/userinfo")
    sf.limits()
    http.get(f"/services/data/v{API_VERSION}")
    http.get("/_sftk/org")  # control: not an API call
    http.get("/services/data", auth=False)  # unauthenticated: not counted
    http.get(f"/services/data/v{API_VERSION}/limits", auth=False)  # refused: not counted
    assert first - _remaining(http) == 4
    answer = http.get(f"/services/data/v{API_VERSION}/limits")
    used = answer.json()["DailyApiRequests"]
    assert answer.headers["Sforce-Limit-Info"] == (
        f"api-usage={used['Max'] - used['Remaining']}/{used['Max']}"
    )
    sf.limits()
    assert sf.api_usage["api-usage"].used == used["Max"] - used["Remaining"] + 1


def test_daily_allowance_spent_refuses_calls(http: OrgHttp, facts_restored: None) -> None:
    used = _facts(http)["daily_api_requests"] - _remaining(http)
    assert http.patch("/_sftk/org", json={"daily_api_requests": used + 2}).status_code == 200
    assert http.get("/services/oauth2/userinfo").status_code == 200
    limits = http.get(f"/services/data/v{API_VERSION}/limits")
    assert limits.json()["DailyApiRequests"]["Remaining"] == 0
    refused = http.get("/services/oauth2/userinfo")
    assert refused.status_code == 403
    assert refused.json() == [
        {"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}
    ]
    assert http.get("/_sftk/org").status_code == 200  # control still answers
    soap = _post_soap(http, b"<any/>", f"/services/Soap/m/{API_VERSION}")
    assert (soap.status_code, _fault(soap)[0]) == (500, "sf:REQUEST_LIMIT_EXCEEDED")
    assert _soap_login(http, DEFAULT_PASSWORD)[0]  # logging in is not an API call
    assert _password_grant(http).status_code == 200


def test_concurrent_clients_are_all_counted(http: OrgHttp) -> None:
    before = _remaining(http)
    statuses: list[int] = []
    lock = threading.Lock()

    def hammer() -> None:
        client = http.salesforce()
        for _ in range(8):
            client.limits()
            with lock:
                statuses.append(200)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * 32
    assert before - _remaining(http) == 33


# ---------------------------------------------------------------- restart


def test_restart_keeps_tokens_facts_apps_and_password(
    tmp_path: Path, org_factory: Callable[[Path], OrgHttp]
) -> None:
    first = org_factory(tmp_path / "org")
    granted = _password_grant(first).json()["access_token"]
    assert first.patch("/_sftk/org", json={"instance_name": "CS42", "is_sandbox": True}).ok
    assert first.post("/_sftk/credentials", json={"password": "after-restart"}).status_code == 204
    assert first.post("/_sftk/connected-apps", json={"consumer_key": "kept-app"}).ok
    refresh = first.post("/_sftk/refresh-tokens", json={}).json()["refresh_token"]
    used_before = first.get(f"/services/data/v{API_VERSION}/limits").json()["DailyApiRequests"]
    first.org.stop()

    second = org_factory(tmp_path / "org")
    assert second.org.access_token == first.org.access_token
    assert second.get("/services/oauth2/userinfo", token=granted).status_code == 200
    facts = _facts(second)
    assert (facts["instance_name"], facts["is_sandbox"]) == ("CS42", True)
    assert "kept-app" in [app["consumer_key"] for app in second.get("/_sftk/connected-apps").json()]
    assert _password_grant(second, "after-restart").status_code == 200
    assert _token(second, grant_type="refresh_token", refresh_token=refresh).status_code == 200
    used_after = second.get(f"/services/data/v{API_VERSION}/limits").json()["DailyApiRequests"]
    assert used_after["Remaining"] < used_before["Remaining"]
