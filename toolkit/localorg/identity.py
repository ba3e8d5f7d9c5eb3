"""Who may call the local org, and the org's self-description: OAuth2 token grants, userinfo,
the SOAP partner ``login``, the REST versions list and ``/limits``.

Tokens are random strings handed out once; the store keeps only their SHA-256 digests, so a
copied database grants nothing, and a token is found by its digest, so checking one takes the
same time whatever characters a guess gets right. The default token is the exception: it is
kept as issued because every start writes it to connection.json (readable by its owner only).

Every accepted token check counts one call against the day's DailyApiRequests, except calls to
the ``/_sftk/`` control endpoints, which a real org does not have.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
import zlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from toolkit.errors import ConfigError
from toolkit.localorg.facts import OrgFacts
from toolkit.localorg.http import Request, Response, Router
from toolkit.localorg.ids import make_id
from toolkit.localorg.store import register_schema
from toolkit.metadata import xmlsafe

if TYPE_CHECKING:
    from toolkit.localorg.org import Org

CONTROL_PREFIX = "/_sftk/"
UNCOUNTED_ROUTES = frozenset({"oauth.token", "rest.versions", "soap.partner"})  # logins are free
SESSION_SECONDS = 7200
DEFAULT_PASSWORD = "sftk-local-password"
DEFAULT_CLIENT_ID = "SFTK_LOCAL_CLI"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SOAP_FLAVORS = {  # URL letter -> (API namespace, fault namespace)
    "u": ("urn:partner.soap.sforce.com", "urn:fault.partner.soap.sforce.com"),
    "c": ("urn:enterprise.soap.sforce.com", "urn:fault.enterprise.soap.sforce.com"),
}
INVALID_LOGIN = "Invalid username, password, security token; or user locked out."
ILLEGAL_SESSION = "Invalid Session ID found in SessionHeader: Illegal Session"

_DEFAULT_TOKEN_KEY = "identity.default_token"
_CREDENTIALS_KEY = "identity.credentials"
_SIGNING_KEY = "identity.signing_key"
_TOUCH_SECONDS = 60  # sliding expiry is written back at most once a minute per token
_MAX_TOKEN_LENGTH = 1024
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_TIME_ZONE = "GMT"

register_schema(
    """
CREATE TABLE IF NOT EXISTS identity_tokens (
    digest TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    client_id TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER
);
CREATE TABLE IF NOT EXISTS identity_apps (
    consumer_key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_digest TEXT,
    certificate TEXT
);
"""
)


# ---------------------------------------------------------------- tokens and credentials


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _issue(org: Org, kind: str, client_id: str, lifetime: int | None) -> str:
    prefix = org.facts.org_id[:15] + "!" if kind == "access" else "5Aep"
    token = prefix + secrets.token_urlsafe(72)
    now = int(time.time())
    with org.store.transaction() as db:
        db.execute(
            "DELETE FROM identity_tokens WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,)
        )
        db.execute(
            "INSERT INTO identity_tokens (digest, kind, client_id, issued_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (_digest(token), kind, client_id, now, None if lifetime is None else now + lifetime),
        )
    return token


def issue_access_token(org: Org, client_id: str = DEFAULT_CLIENT_ID) -> str:
    """A session like one from a login: valid until SESSION_SECONDS pass without a call."""
    return _issue(org, "access", client_id, SESSION_SECONDS)


def issue_refresh_token(org: Org, client_id: str = DEFAULT_CLIENT_ID) -> str:
    """What a user's consent in the web-server flow would leave behind; it never expires."""
    if _app(org, client_id) is None:
        raise ConfigError(
            f"no connected app with consumer key {client_id!r}",
            hint="register it with POST /_sftk/connected-apps first",
        )
    return _issue(org, "refresh", client_id, None)


def _token_is_live(org: Org, token: str) -> bool:
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return False
    digest = _digest(token)
    row = (
        org.store.connection()
        .execute(
            "SELECT expires_at FROM identity_tokens WHERE digest = ? AND kind = 'access'",
            (digest,),
        )
        .fetchone()
    )
    if row is None:
        return False
    expires_at = row["expires_at"]
    if expires_at is None:
        return True
    now = int(time.time())
    if expires_at <= now:
        return False
    if now + SESSION_SECONDS - expires_at >= _TOUCH_SECONDS:
        with org.store.transaction() as db:
            db.execute(
                "UPDATE identity_tokens SET expires_at = ? WHERE digest = ?",
                (now + SESSION_SECONDS, digest),
            )
    return True


def bearer_is_valid(org: Org, request: Request) -> bool:
    """``Authorization: Bearer <token>`` (or the older ``OAuth <token>``) names a live session."""
    scheme, _, token = request.header("authorization").strip().partition(" ")
    if scheme.lower() not in ("bearer", "oauth") or not _token_is_live(org, token.strip()):
        return False
    if not request.path.startswith(CONTROL_PREFIX):
        org.store.count_call(org.today())
    return True


def session_is_valid(org: Org, token: str) -> bool:
    """A SOAP SessionHeader's sessionId names a live session (the same tokens as OAuth)."""
    if not _token_is_live(org, token.strip()):
        return False
    org.store.count_call(org.today())
    return True


def default_token(org: Org) -> str:
    """The long-lived token written to connection.json; made by ``prepare``."""
    token: str = org.store.get(_DEFAULT_TOKEN_KEY)
    return token


def _hash_secret(secret: str, salt: bytes) -> str:
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, **_SCRYPT).hex()


def set_credentials(org: Org, password: str, security_token: str = "") -> None:
    """The current user's password and security token; logins send them concatenated, as on
    Salesforce. An empty token means the caller is inside a trusted IP range."""
    if not password:
        raise ConfigError("the password must not be empty", hint="send a non-empty 'password'")
    salt = secrets.token_bytes(16)
    org.store.put(
        _CREDENTIALS_KEY,
        {"salt": salt.hex(), "digest": _hash_secret(password + security_token, salt)},
    )


def _login_matches(org: Org, username: str, secret: str) -> bool:
    stored = org.store.get(_CREDENTIALS_KEY)
    candidate = _hash_secret(secret, bytes.fromhex(stored["salt"]))
    password_ok = hmac.compare_digest(candidate, stored["digest"])
    return password_ok and username.strip().lower() == org.facts.username.lower()


# ---------------------------------------------------------------- connected apps


@dataclass(frozen=True)
class ConnectedApp:
    consumer_key: str
    name: str
    has_secret: bool
    certificate: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "consumer_key": self.consumer_key,
            "name": self.name,
            "has_secret": self.has_secret,
            "certificate": self.certificate,
        }


def _app_from_row(row: Any) -> ConnectedApp:
    return ConnectedApp(
        row["consumer_key"], row["name"], row["secret_digest"] is not None, row["certificate"]
    )


def _app(org: Org, consumer_key: str) -> ConnectedApp | None:
    row = (
        org.store.connection()
        .execute("SELECT * FROM identity_apps WHERE consumer_key = ?", (consumer_key,))
        .fetchone()
    )
    return None if row is None else _app_from_row(row)


def connected_apps(org: Org) -> list[ConnectedApp]:
    rows = (
        org.store.connection()
        .execute("SELECT * FROM identity_apps ORDER BY consumer_key")
        .fetchall()
    )
    return [_app_from_row(row) for row in rows]


def _secret_matches(org: Org, consumer_key: str, secret: str) -> bool:
    row = (
        org.store.connection()
        .execute("SELECT secret_digest FROM identity_apps WHERE consumer_key = ?", (consumer_key,))
        .fetchone()
    )
    return row is not None and hmac.compare_digest(row["secret_digest"] or "", _digest(secret))


def register_app(
    org: Org,
    consumer_key: str,
    *,
    certificate: str | None = None,
    consumer_secret: str | None = None,
    name: str | None = None,
) -> ConnectedApp:
    """Add or replace a local connected app. ``certificate`` (PEM, RSA key) enables the JWT
    bearer flow; ``consumer_secret`` makes the password grant require it."""
    if (
        not consumer_key
        or len(consumer_key) > 255
        or not consumer_key.isprintable()
        or any(ch.isspace() for ch in consumer_key)
    ):
        raise ConfigError(
            f"consumer key {consumer_key!r} is not usable",
            hint="use 1 to 255 printable characters without spaces",
        )
    if certificate is not None:
        try:
            loaded = x509.load_pem_x509_certificate(certificate.encode("utf-8"))
        except ValueError as exc:
            raise ConfigError(
                f"connected app {consumer_key}: the certificate is not a PEM X.509 certificate "
                f"({exc})",
                hint="send the certificate file's text, starting with -----BEGIN CERTIFICATE-----",
            ) from None
        if not isinstance(loaded.public_key(), rsa.RSAPublicKey):
            raise ConfigError(
                f"connected app {consumer_key}: the certificate's key is not RSA",
                hint="JWT bearer assertions are signed with RS256, which needs an RSA key",
            )
    app = ConnectedApp(consumer_key, name or consumer_key, consumer_secret is not None, certificate)
    with org.store.transaction() as db:
        db.execute(
            "INSERT INTO identity_apps (consumer_key, name, secret_digest, certificate) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(consumer_key) DO UPDATE SET name = excluded.name, "
            "secret_digest = excluded.secret_digest, certificate = excluded.certificate",
            (
                consumer_key,
                app.name,
                None if consumer_secret is None else _digest(consumer_secret),
                certificate,
            ),
        )
    return app


def remove_app(org: Org, consumer_key: str) -> bool:
    """Forget an app and every token issued through it."""
    with org.store.transaction() as db:
        gone = db.execute("DELETE FROM identity_apps WHERE consumer_key = ?", (consumer_key,))
        db.execute("DELETE FROM identity_tokens WHERE client_id = ?", (consumer_key,))
    return gone.rowcount > 0


# ---------------------------------------------------------------- start-up


def prepare(org: Org) -> None:
    """First start: the default token, the default password, the built-in app, a signing key."""
    if org.store.get(_SIGNING_KEY) is None:
        org.store.put(_SIGNING_KEY, secrets.token_hex(32))
    if org.store.get(_CREDENTIALS_KEY) is None:
        set_credentials(org, DEFAULT_PASSWORD)
    if _app(org, DEFAULT_CLIENT_ID) is None:
        register_app(org, DEFAULT_CLIENT_ID, name="sftk command line")
    if org.store.get(_DEFAULT_TOKEN_KEY) is None:
        org.store.put(_DEFAULT_TOKEN_KEY, _issue(org, "access", DEFAULT_CLIENT_ID, None))


# ---------------------------------------------------------------- descriptions of the org


def release_label(version: int) -> str:
    """Three releases a year, Spring/Summer/Winter; Winter is named after the following year."""
    offset = version - 60  # 60.0 is Spring '24
    season = ("Spring", "Summer", "Winter")[offset % 3]
    year = 24 + offset // 3 + (1 if season == "Winter" else 0)
    return f"{season} '{year % 100:02d}"


def unsupported_version(org: Org, route_name: str, params: dict[str, str]) -> Response | None:
    """The refusal for an API version the org does not advertise, or None if it does."""
    version = params.get("version")
    if version is None or version in org.facts.api_versions():
        return None
    if route_name.startswith("soap"):
        return _soap_fault(
            "UNSUPPORTED_API_VERSION",
            "Invalid Api version specified on URL",
            SOAP_FLAVORS["u"][1],
        )
    return not_found()


def not_found() -> Response:
    return Response.json(
        [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}], 404
    )


def identity_url(org: Org, facts: OrgFacts) -> str:
    return f"{org.instance_url}/id/{facts.org_id}/{facts.user_id}"


def profile_id(facts: OrgFacts) -> str:
    """A stable Id per profile name, so changing the profile fact changes the Id clients see."""
    return make_id("00e", 1 + zlib.crc32(facts.profile.encode("utf-8")) % 1_000_000)


def _urls(org: Org, facts: OrgFacts) -> dict[str, str]:
    base = org.instance_url
    org15 = facts.org_id[:15]
    rest = f"{base}/services/data/v{{version}}/"
    return {
        "custom_domain": base,
        "enterprise": f"{base}/services/Soap/c/{{version}}/{org15}",
        "metadata": f"{base}/services/Soap/m/{{version}}/{org15}",
        "partner": f"{base}/services/Soap/u/{{version}}/{org15}",
        "profile": f"{base}/{facts.user_id}",
        "query": f"{rest}query/",
        "recent": f"{rest}recent/",
        "rest": rest,
        "search": f"{rest}search/",
        "sobjects": f"{rest}sobjects/",
        "tooling_rest": f"{rest}tooling/",
        "tooling_soap": f"{base}/services/Soap/T/{{version}}/{org15}",
        "users": f"{rest}chatter/users",
    }


def _full_name(facts: OrgFacts) -> str:
    return f"{facts.first_name} {facts.last_name}".strip()


def _userinfo(request: Request, org: Org) -> Response:
    facts = org.facts
    return Response.json(
        {
            "sub": identity_url(org, facts),
            "user_id": facts.user_id,
            "organization_id": facts.org_id,
            "preferred_username": facts.username,
            "nickname": facts.username.split("@")[0],
            "name": _full_name(facts),
            "email": facts.email,
            "email_verified": True,
            "given_name": facts.first_name,
            "family_name": facts.last_name,
            "zoneinfo": _TIME_ZONE,
            "profile": f"{org.instance_url}/{facts.user_id}",
            "active": True,
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": 0,
            "is_app_installed": True,
            "urls": _urls(org, facts),
        }
    )


def _identity(request: Request, org: Org) -> Response:
    facts = org.facts
    if (request.params["org"], request.params["user"]) != (facts.org_id, facts.user_id):
        return not_found()
    return Response.json(
        {
            "id": identity_url(org, facts),
            "asserted_user": True,
            "user_id": facts.user_id,
            "organization_id": facts.org_id,
            "username": facts.username,
            "nick_name": facts.username.split("@")[0],
            "display_name": _full_name(facts),
            "email": facts.email,
            "email_verified": True,
            "first_name": facts.first_name,
            "last_name": facts.last_name,
            "timezone": _TIME_ZONE,
            "active": True,
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": 0,
            "is_app_installed": True,
            "urls": _urls(org, facts),
        }
    )


def _versions(request: Request, org: Org) -> Response:
    return Response.json(
        [
            {
                "label": release_label(int(float(version))),
                "url": f"/services/data/v{version}",
                "version": version,
            }
            for version in org.facts.api_versions()
        ]
    )


_RESOURCES = (
    "composite",
    "jobs",
    "limits",
    "metadata",
    "query",
    "queryAll",
    "recent",
    "search",
    "sobjects",
    "tooling",
)


def _version_resources(request: Request, org: Org) -> Response:
    base = f"/services/data/v{request.params['version']}"
    resources = {name: f"{base}/{name}" for name in _RESOURCES}
    resources["identity"] = identity_url(org, org.facts)
    return Response.json(dict(sorted(resources.items())))


def _limit(maximum: int, used: int = 0) -> dict[str, int]:
    return {"Max": maximum, "Remaining": max(0, maximum - used)}


def api_usage(org: Org) -> tuple[int, int]:
    """Calls counted today and the daily allowance."""
    return org.store.calls(org.today()), org.facts.daily_api_requests


def _limits(request: Request, org: Org) -> Response:
    facts = org.facts
    used, allowance = api_usage(org)
    small = facts.organization_type == "Developer Edition" and not facts.is_sandbox
    limits = {
        "ConcurrentAsyncGetReportInstances": _limit(200),
        "ConcurrentSyncReportRuns": _limit(20),
        "DailyApiRequests": _limit(allowance, used),
        "DailyAsyncApexExecutions": _limit(250_000),
        "DailyBulkApiBatches": _limit(15_000),
        "DailyBulkV2QueryFileStorageMB": _limit(976_562),
        "DailyBulkV2QueryJobs": _limit(10_000),
        "DailyStreamingApiEvents": _limit(10_000),
        "DataStorageMB": _limit(5 if small else 10_240),
        "FileStorageMB": _limit(20 if small else 10_240),
        "HourlyTimeBasedWorkflow": _limit(50),
        "MassEmail": _limit(10 if small else 5_000),
        "SingleEmail": _limit(15 if small else 5_000),
    }
    return Response.json(limits)


def with_limit_info(org: Org, response: Response) -> Response:
    """REST answers carry the day's usage in ``Sforce-Limit-Info`` like Salesforce's do."""
    used, allowance = api_usage(org)
    header = ("Sforce-Limit-Info", f"api-usage={used}/{allowance}")
    return replace(response, headers=(*response.headers, header))


# ---------------------------------------------------------------- OAuth2 token endpoint


class _OAuthError(Exception):
    """An OAuth refusal: always HTTP 400 with ``error`` and ``error_description``."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


_BAD_CLIENT = ("invalid_client_id", "client identifier invalid")
_BAD_LOGIN = ("invalid_grant", "authentication failure")
_BAD_ASSERTION = ("invalid_grant", "invalid assertion")
_BAD_REFRESH = ("invalid_grant", "expired access/refresh token")


def _form(request: Request) -> dict[str, str]:
    """Form fields of the body, falling back to the query string (Salesforce takes either)."""
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise _OAuthError("invalid_request", "the request body is not UTF-8 form data") from None
    values = {name: items[0] for name, items in request.query.items() if items}
    values.update(
        {name: items[0] for name, items in parse_qs(text, keep_blank_values=True).items()}
    )
    return values


def _token_answer(org: Org, client_id: str, extra: dict[str, str] | None = None) -> Response:
    facts = org.facts
    token = issue_access_token(org, client_id)
    issued_at = str(int(time.time() * 1000))
    identity = identity_url(org, facts)
    key = bytes.fromhex(org.store.get(_SIGNING_KEY))
    signature = base64.b64encode(
        hmac.new(key, (identity + issued_at).encode("utf-8"), hashlib.sha256).digest()
    ).decode("ascii")
    body = {
        "access_token": token,
        "instance_url": org.instance_url,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": signature,
        **(extra or {}),
    }
    return Response.json(body, headers=(("Cache-Control", "no-cache,no-store"),))


def _password_grant(org: Org, form: dict[str, str]) -> Response:
    client_id = form.get("client_id", "")
    app = _app(org, client_id) if client_id else None
    if app is None:
        raise _OAuthError(*_BAD_CLIENT)
    if app.has_secret and not _secret_matches(org, client_id, form.get("client_secret", "")):
        raise _OAuthError("invalid_client", "invalid client credentials")
    if not _login_matches(org, form.get("username", ""), form.get("password", "")):
        raise _OAuthError(*_BAD_LOGIN)
    return _token_answer(org, client_id)


def _refresh_grant(org: Org, form: dict[str, str]) -> Response:
    token = form.get("refresh_token", "")
    if not 0 < len(token) <= _MAX_TOKEN_LENGTH:
        raise _OAuthError(*_BAD_REFRESH)
    row = (
        org.store.connection()
        .execute(
            "SELECT client_id FROM identity_tokens WHERE digest = ? AND kind = 'refresh'",
            (_digest(token),),
        )
        .fetchone()
    )
    if row is None:
        raise _OAuthError(*_BAD_REFRESH)
    client_id = str(row["client_id"])
    if form.get("client_id", client_id) != client_id:
        raise _OAuthError(*_BAD_CLIENT)
    app = _app(org, client_id)
    if (
        app is not None
        and app.has_secret
        and "client_secret" in form
        and not _secret_matches(org, client_id, form["client_secret"])
    ):
        raise _OAuthError("invalid_client", "invalid client credentials")
    return _token_answer(org, client_id, {"scope": "api refresh_token"})


def _b64url(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise _OAuthError(*_BAD_ASSERTION) from None


def _json_part(part: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64url(part))
    except (UnicodeDecodeError, ValueError):
        raise _OAuthError(*_BAD_ASSERTION) from None
    if not isinstance(value, dict):
        raise _OAuthError(*_BAD_ASSERTION)
    return value


def _audiences(org: Org) -> set[str]:
    login = LOGIN_AUDIENCES[1] if org.facts.is_sandbox else LOGIN_AUDIENCES[0]
    return {login, org.instance_url}


def _jwt_grant(org: Org, form: dict[str, str]) -> Response:
    """RFC 7523 bearer assertion, RS256, checked against the app's registered certificate."""
    parts = form.get("assertion", "").split(".")
    if len(parts) != 3:
        raise _OAuthError(*_BAD_ASSERTION)
    header, claims = _json_part(parts[0]), _json_part(parts[1])
    if header.get("alg") != "RS256":
        raise _OAuthError(*_BAD_ASSERTION)
    issuer = claims.get("iss")
    app = _app(org, issuer) if isinstance(issuer, str) else None
    if app is None:
        raise _OAuthError(*_BAD_CLIENT)
    if app.certificate is None:
        raise _OAuthError(*_BAD_ASSERTION)
    key = x509.load_pem_x509_certificate(app.certificate.encode("utf-8")).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise _OAuthError(*_BAD_ASSERTION)
    try:
        key.verify(
            _b64url(parts[2]),
            f"{parts[0]}.{parts[1]}".encode("ascii"),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (InvalidSignature, UnicodeEncodeError):
        raise _OAuthError(*_BAD_ASSERTION) from None
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if not any(isinstance(a, str) and a.rstrip("/") in _audiences(org) for a in audiences):
        raise _OAuthError("invalid_grant", "audience is invalid")
    subject = claims.get("sub")
    if not isinstance(subject, str) or subject.strip().lower() != org.facts.username.lower():
        raise _OAuthError("invalid_grant", "user hasn't approved this consumer")
    expires = claims.get("exp")
    try:
        expiry = float(expires) if isinstance(expires, (int, float, str)) else 0.0
    except ValueError:
        expiry = 0.0
    if expiry <= time.time():
        raise _OAuthError("invalid_grant", "expired authorization code")
    return _token_answer(org, app.consumer_key)


def _oauth_token(request: Request, org: Org) -> Response:
    try:
        form = _form(request)
        grant = form.get("grant_type", "")
        if grant == "password":
            return _password_grant(org, form)
        if grant == "refresh_token":
            return _refresh_grant(org, form)
        if grant == JWT_GRANT:
            return _jwt_grant(org, form)
        raise _OAuthError("unsupported_grant_type", "grant type not supported")
    except _OAuthError as exc:
        return Response.json({"error": exc.error, "error_description": exc.description}, 400)


# ---------------------------------------------------------------- SOAP partner / enterprise


class _SoapFault(Exception):
    def __init__(self, code: str, message: str, detail: str = "UnexpectedErrorFault") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


def _soap_fault(
    code: str, message: str, fault_ns: str, detail: str = "UnexpectedErrorFault"
) -> Response:
    """Salesforce's fault: ``sf:CODE``, ``CODE: message``; ``soapenv:Client`` for envelopes
    that cannot be read (those carry no Salesforce detail)."""
    root = etree.Element(
        f"{{{SOAP_ENV}}}Envelope", nsmap={"soapenv": SOAP_ENV, "sf": fault_ns, "xsi": XSI_NS}
    )
    fault = etree.SubElement(etree.SubElement(root, f"{{{SOAP_ENV}}}Body"), f"{{{SOAP_ENV}}}Fault")
    if code == "Client":
        etree.SubElement(fault, "faultcode").text = "soapenv:Client"
        etree.SubElement(fault, "faultstring").text = message
    else:
        etree.SubElement(fault, "faultcode").text = f"sf:{code}"
        etree.SubElement(fault, "faultstring").text = f"{code}: {message}"
        info = etree.SubElement(etree.SubElement(fault, "detail"), f"{{{fault_ns}}}{detail}")
        info.set(f"{{{XSI_NS}}}type", f"sf:{detail}")
        etree.SubElement(info, f"{{{fault_ns}}}exceptionCode").text = code
        etree.SubElement(info, f"{{{fault_ns}}}exceptionMessage").text = message
    return Response.xml(bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=True)), 500)


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _elements(parent: etree._Element) -> list[etree._Element]:
    return [child for child in parent if isinstance(child.tag, str)]


def _child_text(parent: etree._Element, name: str) -> str | None:
    """A child's text by local name: clients qualify children with any prefix, or none."""
    for child in _elements(parent):
        if _local(child) == name:
            return child.text or ""
    return None


@dataclass(frozen=True)
class _Call:
    operation: etree._Element
    header: etree._Element | None


def _read_envelope(body: bytes, namespace: str) -> _Call:
    try:
        root = xmlsafe.parse(body, "SOAP request")
    except ConfigError as exc:
        raise _SoapFault("Client", exc.message) from None
    if root.getroottree().docinfo.internalDTD is not None:  # any DOCTYPE, even without a subset
        raise _SoapFault("Client", "DOCTYPE is not allowed in a SOAP request")
    if etree.QName(root).text != f"{{{SOAP_ENV}}}Envelope":
        raise _SoapFault("Client", f"Expected a SOAP 1.1 Envelope in {SOAP_ENV}")
    parts = {etree.QName(e).text: e for e in reversed(_elements(root))}
    body_el = parts.get(f"{{{SOAP_ENV}}}Body")
    if body_el is None or not _elements(body_el):
        raise _SoapFault("Client", "The SOAP Envelope has no Body element holding an operation")
    operation = _elements(body_el)[0]
    if etree.QName(operation).namespace != namespace:
        raise _SoapFault(
            "Client",
            f"No operation available for request {etree.QName(operation).text}, please check "
            "the WSDL for the service.",
        )
    return _Call(operation, parts.get(f"{{{SOAP_ENV}}}Header"))


def _add(parent: etree._Element, namespace: str, name: str, value: str | bool | int | None) -> None:
    element = etree.SubElement(parent, f"{{{namespace}}}{name}")
    if value is None:
        element.set(f"{{{XSI_NS}}}nil", "true")
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)


def _user_info(parent: etree._Element, namespace: str, facts: OrgFacts) -> None:
    """GetUserInfoResult in WSDL sequence order."""
    values: list[tuple[str, str | bool | int | None]] = [
        ("accessibilityMode", False),
        ("chatterExternal", False),
        ("currencySymbol", "$"),
        ("orgAttachmentFileSizeLimit", 5_242_880),
        ("orgDefaultCurrencyIsoCode", "USD"),
        ("orgDefaultCurrencyLocale", "en_US"),
        ("orgDisallowHtmlAttachments", False),
        ("orgHasPersonAccounts", False),
        ("organizationId", facts.org_id),
        ("organizationMultiCurrency", False),
        ("organizationName", facts.org_name),
        ("profileId", profile_id(facts)),
        ("roleId", None),
        ("sessionSecondsValid", SESSION_SECONDS),
        ("userDefaultCurrencyIsoCode", None),
        ("userEmail", facts.email),
        ("userFullName", _full_name(facts)),
        ("userId", facts.user_id),
        ("userLanguage", "en_US"),
        ("userLocale", "en_US"),
        ("userName", facts.username),
        ("userTimeZone", _TIME_ZONE),
        ("userType", "Standard"),
        ("userUiSkin", "Theme3"),
    ]
    for name, value in values:
        _add(parent, namespace, name, value)


def _soap_answer(namespace: str, operation: str) -> tuple[etree._Element, etree._Element]:
    root = etree.Element(
        f"{{{SOAP_ENV}}}Envelope",
        nsmap={"soapenv": SOAP_ENV, None: namespace, "xsi": XSI_NS},  # type: ignore[dict-item]
    )
    answer = etree.SubElement(
        etree.SubElement(root, f"{{{SOAP_ENV}}}Body"), f"{{{namespace}}}{operation}Response"
    )
    return root, etree.SubElement(answer, f"{{{namespace}}}result")


def _xml(root: etree._Element) -> Response:
    return Response.xml(bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=True)))


def _soap_login(org: Org, call: _Call, namespace: str, flavor: str, version: str) -> Response:
    username = _child_text(call.operation, "username")
    password = _child_text(call.operation, "password")
    if username is None or password is None or not _login_matches(org, username, password):
        raise _SoapFault("INVALID_LOGIN", INVALID_LOGIN, "LoginFault")
    facts = org.facts
    token = issue_access_token(org)
    org15 = facts.org_id[:15]
    root, result = _soap_answer(namespace, "login")
    _add(
        result,
        namespace,
        "metadataServerUrl",
        f"{org.instance_url}/services/Soap/m/{version}/{org15}",
    )
    _add(result, namespace, "passwordExpired", False)
    _add(result, namespace, "sandbox", facts.is_sandbox)
    _add(
        result,
        namespace,
        "serverUrl",
        f"{org.instance_url}/services/Soap/{flavor}/{version}/{org15}",
    )
    _add(result, namespace, "sessionId", token)
    _add(result, namespace, "userId", facts.user_id)
    _user_info(etree.SubElement(result, f"{{{namespace}}}userInfo"), namespace, facts)
    return _xml(root)


def _soap_user_info(org: Org, call: _Call, namespace: str) -> Response:
    session = None
    if call.header is not None:
        for element in _elements(call.header):
            if _local(element) == "SessionHeader":
                session = _child_text(element, "sessionId")
    if session is None or not session_is_valid(org, session):
        raise _SoapFault("INVALID_SESSION_ID", ILLEGAL_SESSION)
    root, result = _soap_answer(namespace, "getUserInfo")
    _user_info(result, namespace, org.facts)
    return _xml(root)


def _soap(request: Request, org: Org) -> Response:
    flavor = request.params["flavor"]
    namespace, fault_ns = SOAP_FLAVORS[flavor]
    try:
        call = _read_envelope(request.body, namespace)
        operation = _local(call.operation)
        if operation == "login":
            return _soap_login(org, call, namespace, flavor, request.params["version"])
        if operation == "getUserInfo":
            return _soap_user_info(org, call, namespace)
        raise _SoapFault(
            "Client",
            f"No operation available for request {etree.QName(call.operation).text}, please "
            "check the WSDL for the service.",
        )
    except _SoapFault as fault:
        return _soap_fault(fault.code, fault.message, fault_ns, fault.detail)


# ---------------------------------------------------------------- routes


def register(router: Router) -> None:
    router.add(
        "POST", r"/services/oauth2/token", _oauth_token, name="oauth.token", authenticated=False
    )
    router.add("GET", r"/services/oauth2/userinfo", _userinfo, name="oauth.userinfo")
    router.add("GET", r"/id/(?P<org>\w{18})/(?P<user>\w{18})", _identity, name="oauth.identity")
    router.add("GET", r"/services/data/?", _versions, name="rest.versions", authenticated=False)
    router.add(
        "GET", r"/services/data/v(?P<version>\d+\.\d)/?", _version_resources, name="rest.resources"
    )
    router.add("GET", r"/services/data/v(?P<version>\d+\.\d)/limits/?", _limits, name="rest.limits")
    router.add(
        "POST",
        r"/services/Soap/(?P<flavor>[uc])/(?P<version>\d+\.\d)(?:/[^/]*)*",
        _soap,
        name="soap.partner",
        authenticated=False,
    )
