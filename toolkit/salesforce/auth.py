"""Connecting to the org an sftk.toml profile names, by the profile's auth method.

- ``jwt``: an RS256 assertion signed with the connected app's private key, posted to the login
  URL's token endpoint (the OAuth 2.0 JWT bearer flow, what CI uses).
- ``password``: the SOAP ``login()`` call, which needs no connected app (Salesforce keeps it
  through API 64.0, so sftk logs in at 64.0 at most); with ``client_id_env`` the OAuth
  username-password flow of that connected app instead, which outlives ``login()``.
- ``token``: an access token and instance URL taken from environment variables.
- ``sfdx``: whatever the Salesforce CLI has authorized, read from ``sf org display --json``.
- ``local``: the project's local org, the running server if one answers, else one started
  in-process for as long as the connection is open.

Secrets come from the environment mapping (``os.environ`` unless given) or a key file; every
message built here is passed through ``redact`` with each secret read, so none is ever printed.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from toolkit.config import LOGIN_URLS, OrgProfile, ProjectConfig
from toolkit.errors import ConfigError, OrgError, UsageError
from toolkit.fsio import read_regular_file
from toolkit.localorg.embedded import local_org
from toolkit.metadata import xmlsafe
from toolkit.salesforce.connection import OrgConnection
from toolkit.salesforce.redact import redact
from toolkit.salesforce.sf_cli import run_sf

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
KEY_FILE_LIMIT = 64 * 1024  # a PEM RSA key of 4,096 bits is about 3,300 bytes
JWT_LIFETIME_SECONDS = 180
SOAP_LOGIN_MAX_VERSION = "64.0"  # login() is gone from API 65.0 on
HTTP_TIMEOUT = (10, 60)  # connect, read (seconds)
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER_NS = "urn:partner.soap.sforce.com"

# What to try when the org refuses a login: by (error, description), then by error code.
_LOGIN_HINTS = {
    ("invalid_grant", "authentication failure"): "check username and the password (and security "
    "token) in the variables the profile names; outside the org's trusted IP ranges the security "
    "token is required",
    ("invalid_grant", "invalid assertion"): "the connected app could not verify the JWT: upload "
    "the certificate that matches the private key, and check that client_id_env holds that app's "
    "consumer key",
    ("invalid_grant", "audience is invalid"): 'sandboxes log in with login_url = "test" (or their '
    'sandbox My Domain), other orgs with "login"',
    ("invalid_grant", "user hasn't approved this consumer"): "pre-authorize the user for the "
    "connected app (Permitted Users: admin approved users, with the user's profile or a "
    "permission set)",
    ("invalid_grant", "expired authorization code"): "the JWT had expired when it arrived: check "
    "this machine's clock",
    ("invalid_client_id", None): "client_id_env must name the variable holding the connected "
    "app's consumer key",
    ("invalid_client", None): "check the consumer secret in the variable client_secret_env names",
    ("unsupported_grant_type", None): "enable this OAuth flow in the connected app's settings",
    ("INVALID_LOGIN", None): "check username and the password and security token variables; "
    "outside the org's trusted IP ranges the security token is required",
    ("LOGIN_MUST_USE_SECURITY_TOKEN", None): "set security_token_env to the variable holding "
    "the user's security token (reset it from the user's personal settings)",
    ("INSUFFICIENT_ACCESS", None): "SOAP login() needs the Use Any API Auth permission: grant it, "
    'or use auth = "jwt"',
}
_DEFAULT_LOGIN_HINT = "check the profile's credentials and login_url in sftk.toml"
_BAD_TOKEN_HINT = {
    "token": "the access token is expired or revoked: put a fresh one in the variable "
    "access_token_env names",
    "sfdx": "log in again with `sf org login web --alias ALIAS`",
}
_ERRNO_REASON = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


@dataclass(frozen=True)
class _Login:
    """Where a login landed and what it already told about the user."""

    instance_url: str
    access_token: str = field(repr=False)
    username: str | None = None
    org_id: str | None = None
    user_id: str | None = None


class _Secrets:
    """The profile's environment, read through one place that remembers every secret it hands
    out, so every message can be redacted of them."""

    def __init__(self, profile: OrgProfile, environ: Mapping[str, str]) -> None:
        self.profile = profile
        self.environ = environ
        self.values: list[str] = []

    def keep(self, value: str) -> str:
        self.values.append(value)
        return value

    def env(self, key: str, holds: str, *, secret: bool = True) -> str:
        """The value of the variable the profile's ``key`` names; missing or empty is an error."""
        variable = getattr(self.profile, key)
        assert isinstance(variable, str)
        value = self.environ.get(variable, "")
        if not value:
            raise ConfigError(
                f"org profile {self.profile.name!r}: environment variable {variable} is not set "
                f"(it should hold {holds})",
                hint=f"set {variable} (a CI secret, or export it in your shell), or change "
                f"{key} in [orgs.{self.profile.name}] of sftk.toml",
            )
        return self.keep(value) if secret else value

    def optional_env(self, key: str, holds: str) -> str:
        return "" if getattr(self.profile, key) is None else self.env(key, holds)

    def fail(
        self, message: str, *, code: str, status: int | None = None, hint: str | None = None
    ) -> OrgError:
        return OrgError(
            redact(f"org profile {self.profile.name!r}: {message}", self.values),
            code=code,
            status=status,
            hint=None if hint is None else redact(hint, self.values),
        )


def find_profile(config: ProjectConfig, name: str) -> OrgProfile:
    for profile in config.orgs:
        if profile.name == name:
            return profile
    known = ", ".join(profile.name for profile in config.orgs)
    raise UsageError(
        f"no org profile {name!r} in {config.display(config.root / 'sftk.toml')}",
        hint=f"known profiles: {known}; add [orgs.{name}] to sftk.toml to define it",
    )


@contextmanager
def open_connection(
    config: ProjectConfig, name: str, env: Mapping[str, str] | None = None
) -> Iterator[OrgConnection]:
    """A logged-in connection to the org profile ``name``, closed (and a local org started
    for it stopped) when the block ends. ``env`` is where credentials and PATH are read; TLS
    trust other than the local org's follows requests (REQUESTS_CA_BUNDLE of the process)."""
    profile = find_profile(config, name)
    secrets = _Secrets(profile, os.environ if env is None else env)
    if profile.auth == "local":
        with local_org(config.local_state(profile), profile.kind) as running:
            session = requests.Session()
            session.trust_env = False  # REQUESTS_CA_BUNDLE must not replace the org's own CA
            session.verify = running["ca_bundle"]
            login = _Login(
                running["instance_url"],
                secrets.keep(running["access_token"]),
                running.get("username"),
                running.get("org_id"),
            )
            try:
                yield _connection(config, profile, session, login, secrets)
            finally:
                session.close()
        return
    session = requests.Session()
    try:
        login = _LOGINS[profile.auth](profile, session, secrets)
        yield _connection(config, profile, session, login, secrets)
    finally:
        session.close()


def _connection(
    config: ProjectConfig,
    profile: OrgProfile,
    session: requests.Session,
    login: _Login,
    secrets: _Secrets,
) -> OrgConnection:
    version = profile.api_version or config.api_version or _newest_version(session, login, secrets)
    if None in (login.username, login.org_id, login.user_id):
        login = _with_userinfo(session, login, secrets)
    return OrgConnection(
        profile=profile.name,
        kind=profile.kind,
        instance_url=login.instance_url,
        access_token=login.access_token,
        api_version=version,
        session=session,
        username=login.username,
        org_id=login.org_id,
        user_id=login.user_id,
    )


# ---------------------------------------------------------------- HTTP


def _call(
    session: requests.Session, method: str, url: str, secrets: _Secrets, **kwargs: Any
) -> requests.Response:
    """One request; transport failures become OrgError (CONNECTION or TIMEOUT)."""
    origin = _origin(url)
    try:
        return session.request(method, url, timeout=HTTP_TIMEOUT, **kwargs)
    except requests.exceptions.SSLError:
        raise secrets.fail(
            f"the TLS certificate of {origin} could not be verified",
            code="CONNECTION",
            hint="if a proxy re-signs TLS traffic, point REQUESTS_CA_BUNDLE at its CA certificate",
        ) from None
    except requests.Timeout:
        raise secrets.fail(
            f"{origin} did not answer in time",
            code="TIMEOUT",
            hint="retry; if it persists, check the network and the org's status",
        ) from None
    except requests.RequestException as exc:
        found = _ERRNO_REASON.search(str(exc))
        reason = found.group(1).strip() if found else type(exc).__name__
        raise secrets.fail(
            f"cannot reach {origin} ({reason})",
            code="CONNECTION",
            hint="check login_url (or the instance URL) and this machine's network and proxy",
        ) from None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _json(answer: requests.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return None


def _rest_failure(answer: requests.Response, what: str, secrets: _Secrets) -> OrgError:
    """A REST refusal with Salesforce's error code when the body carries one."""
    body = _json(answer)
    code, message = f"HTTP_{answer.status_code}", f"HTTP {answer.status_code}"
    if isinstance(body, list) and body and isinstance(body[0], dict):
        code = str(body[0].get("errorCode", code))
        message = str(body[0].get("message", message))
    elif isinstance(body, dict) and "error" in body:
        code = str(body["error"])
        message = str(body.get("error_description", message))
    hint = None
    if answer.status_code in (401, 403):
        hint = _BAD_TOKEN_HINT.get(secrets.profile.auth, "connect again")
    return secrets.fail(
        f"{what}: {code}: {message}", code=code, status=answer.status_code, hint=hint
    )


def _newest_version(session: requests.Session, login: _Login, secrets: _Secrets) -> str:
    """The highest API version the org advertises (versions compare as numbers)."""
    answer = _call(session, "GET", f"{login.instance_url}/services/data", secrets)
    body = _json(answer)
    if answer.status_code != 200 or not isinstance(body, list):
        raise _rest_failure(answer, "listing API versions", secrets)
    versions = [
        str(item["version"]) for item in body if isinstance(item, dict) and "version" in item
    ]
    if not versions:
        raise secrets.fail("the org advertises no API versions", code="NO_API_VERSION")
    return max(versions, key=lambda v: tuple(int(part) for part in v.split(".")))


def _with_userinfo(session: requests.Session, login: _Login, secrets: _Secrets) -> _Login:
    answer = _call(
        session,
        "GET",
        f"{login.instance_url}/services/oauth2/userinfo",
        secrets,
        headers={"Authorization": f"Bearer {login.access_token}"},
    )
    body = _json(answer)
    if answer.status_code != 200 or not isinstance(body, dict):
        raise _rest_failure(answer, "reading the user's identity", secrets)
    return _Login(
        login.instance_url,
        login.access_token,
        login.username or body.get("preferred_username"),
        login.org_id or body.get("organization_id"),
        login.user_id or body.get("user_id"),
    )


# ---------------------------------------------------------------- OAuth token endpoint


def _token_request(
    session: requests.Session, profile: OrgProfile, form: dict[str, str], secrets: _Secrets
) -> _Login:
    answer = _call(
        session, "POST", f"{profile.login_url}/services/oauth2/token", secrets, data=form
    )
    body = _json(answer)
    if answer.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
        raise _login_refused(answer, body, secrets)
    token = secrets.keep(str(body["access_token"]))
    instance_url = str(body.get("instance_url") or profile.login_url)
    org_id, user_id = _ids_of(str(body.get("id", "")))
    return _Login(_origin(instance_url), token, profile.username, org_id, user_id)


def _login_refused(answer: requests.Response, body: Any, secrets: _Secrets) -> OrgError:
    if isinstance(body, dict) and "error" in body:
        error, description = str(body["error"]), str(body.get("error_description", ""))
        hint = _LOGIN_HINTS.get((error, description)) or _LOGIN_HINTS.get((error, None))
        return secrets.fail(
            f"login refused: {error}: {description}",
            code=error,
            status=answer.status_code,
            hint=hint or _DEFAULT_LOGIN_HINT,
        )
    return secrets.fail(
        f"login failed: the token endpoint answered HTTP {answer.status_code}",
        code=f"HTTP_{answer.status_code}",
        status=answer.status_code,
        hint="check login_url: it must be the org's login host or My Domain",
    )


def _ids_of(identity_url: str) -> tuple[str | None, str | None]:
    """Org and user Id from the identity URL ``https://host/id/<org id>/<user id>``."""
    parts = urlsplit(identity_url).path.strip("/").split("/")
    if len(parts) == 3 and parts[0] == "id":
        return parts[1], parts[2]
    return None, None


# ---------------------------------------------------------------- jwt


def jwt_audience(profile: OrgProfile) -> str:
    """Salesforce accepts only its login hosts as the audience, never a My Domain, so a My
    Domain login picks one by the org: test for sandboxes, login for the rest."""
    assert profile.login_url is not None
    if profile.login_url in LOGIN_URLS.values():
        return profile.login_url
    host = urlsplit(profile.login_url).hostname or ""
    sandbox = profile.kind == "sandbox" or host.endswith(".sandbox.my.salesforce.com")
    return LOGIN_URLS["test" if sandbox else "login"]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def signed_assertion(
    key: rsa.RSAPrivateKey, issuer: str, subject: str, audience: str, now: float | None = None
) -> str:
    """A compact RS256 JWT (RFC 7523 bearer assertion) valid for JWT_LIFETIME_SECONDS."""
    header = {"alg": "RS256", "typ": "JWT"}
    claims = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "exp": int((time.time() if now is None else now) + JWT_LIFETIME_SECONDS),
    }
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode("utf-8"))
        for part in (header, claims)
    )
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


def _private_key(profile: OrgProfile, secrets: _Secrets) -> rsa.RSAPrivateKey:
    if profile.private_key_file is not None:
        where = f"key file {profile.private_key_file}"
        data = read_regular_file(
            profile.private_key_file,
            f"org profile {profile.name!r}: {where}",
            limit=KEY_FILE_LIMIT,
            hint="private_key_file is relative to sftk.toml; point it at the PEM key of the "
            "connected app's certificate",
        )
    else:
        where = f"the key in environment variable {profile.private_key_env}"
        data = _pem_text(secrets.env("private_key_env", "the connected app's PEM private key"))
    secrets.keep(data.decode("utf-8", "replace").strip())
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ConfigError(
            f"org profile {profile.name!r}: {where} is not an unencrypted PEM private key",
            hint="use the key the certificate was made from, without a passphrase "
            "(`openssl rsa -in encrypted.key -out server.key` removes one)",
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(
            f"org profile {profile.name!r}: {where} is not an RSA key",
            hint="the JWT bearer flow signs with RS256, which needs an RSA key",
        )
    return key


def _pem_text(value: str) -> bytes:
    """PEM as stored in CI secrets: the text itself, with literal \\n, or base64 of it."""
    text = value.strip().replace("\\n", "\n")
    if text.startswith("-----BEGIN"):
        return text.encode("utf-8")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text.encode("utf-8")


def _jwt_login(profile: OrgProfile, session: requests.Session, secrets: _Secrets) -> _Login:
    assert profile.username is not None
    client_id = secrets.env("client_id_env", "the connected app's consumer key", secret=False)
    key = _private_key(profile, secrets)
    assertion = signed_assertion(key, client_id, profile.username, jwt_audience(profile))
    return _token_request(
        session, profile, {"grant_type": JWT_GRANT, "assertion": assertion}, secrets
    )


# ---------------------------------------------------------------- password


def _password_login(profile: OrgProfile, session: requests.Session, secrets: _Secrets) -> _Login:
    assert profile.username is not None
    password = secrets.env("password_env", "the user's password")
    token = secrets.optional_env("security_token_env", "the user's security token")
    secrets.keep(password + token)  # sent as one: redacted as one, glued as it is
    if profile.client_id_env is None:
        return _soap_login(profile, session, password + token, secrets)
    form = {
        "grant_type": "password",
        "client_id": secrets.env("client_id_env", "the connected app's consumer key", secret=False),
        "username": profile.username,
        "password": password + token,
    }
    if profile.client_secret_env is not None:
        form["client_secret"] = secrets.env("client_secret_env", "the connected app's secret")
    return _token_request(session, profile, form, secrets)


def _login_envelope(username: str, password: str) -> bytes:
    root = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"env": SOAP_ENV, "p": PARTNER_NS})
    body = etree.SubElement(root, f"{{{SOAP_ENV}}}Body")
    login = etree.SubElement(body, f"{{{PARTNER_NS}}}login")
    etree.SubElement(login, f"{{{PARTNER_NS}}}username").text = username
    etree.SubElement(login, f"{{{PARTNER_NS}}}password").text = password
    return bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=True))


def _soap_login(
    profile: OrgProfile, session: requests.Session, password: str, secrets: _Secrets
) -> _Login:
    assert profile.username is not None and profile.login_url is not None
    wanted = profile.api_version or SOAP_LOGIN_MAX_VERSION
    version = min(wanted, SOAP_LOGIN_MAX_VERSION, key=float)
    answer = _call(
        session,
        "POST",
        f"{profile.login_url}/services/Soap/u/{version}",
        secrets,
        data=_login_envelope(profile.username, password),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "login"},
    )
    try:
        root = xmlsafe.parse(answer.content, "the login answer")
    except ConfigError:
        raise secrets.fail(
            f"login failed: the SOAP endpoint answered HTTP {answer.status_code} without XML",
            code=f"HTTP_{answer.status_code}",
            status=answer.status_code,
            hint="check login_url: it must be the org's login host or My Domain",
        ) from None
    found = {etree.QName(e).localname: e.text or "" for e in root.iter() if isinstance(e.tag, str)}
    if "sessionId" not in found or "serverUrl" not in found:
        code = found.get("exceptionCode") or found.get("faultcode", "").removeprefix("sf:")
        message = found.get("exceptionMessage") or found.get("faultstring", "")
        code = code or f"HTTP_{answer.status_code}"
        raise secrets.fail(
            f"login refused: {code}: {message}",
            code=code,
            status=answer.status_code,
            hint=_LOGIN_HINTS.get((code, None), _DEFAULT_LOGIN_HINT),
        )
    token = secrets.keep(found["sessionId"])
    return _Login(
        _origin(found["serverUrl"]),
        token,
        found.get("userName"),
        found.get("organizationId"),
        found.get("userId"),
    )


# ---------------------------------------------------------------- token


def _token_login(profile: OrgProfile, session: requests.Session, secrets: _Secrets) -> _Login:
    token = secrets.env("access_token_env", "an access token (session Id)")
    url = secrets.env(
        "instance_url_env", "the org's URL, like https://acme.my.salesforce.com", secret=False
    )
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(
            f"org profile {profile.name!r}: environment variable {profile.instance_url_env} "
            "is not an https URL",
            hint="set it to the org's URL, like https://acme.my.salesforce.com",
        )
    return _Login(_origin(url), token)


# ---------------------------------------------------------------- sfdx


def _sfdx_login(profile: OrgProfile, session: requests.Session, secrets: _Secrets) -> _Login:
    assert profile.alias is not None
    login_hint = (
        f"authorize the org with `sf org login web --alias {profile.alias}`, or check alias in "
        f"[orgs.{profile.name}] against `sf org list`"
    )
    answer = run_sf(
        ["org", "display", "--json", "--target-org", profile.alias], secrets.environ, secrets.fail
    )
    result = answer.result
    if isinstance(result, dict) and isinstance(result.get("accessToken"), str):
        secrets.keep(result["accessToken"])
    if answer.returncode != 0 or not isinstance(result, dict):
        raise answer.error(secrets.fail, login_hint)
    token, url = result.get("accessToken"), result.get("instanceUrl")
    if not isinstance(token, str) or not token or not isinstance(url, str) or not url:
        raise secrets.fail(
            f"`{answer.command}` gave no access token and instance URL",
            code="SF_CLI_FAILED",
            hint=login_hint,
        )
    username, org_id = result.get("username"), result.get("id")
    return _Login(
        _origin(url),
        token,
        username if isinstance(username, str) else None,
        org_id if isinstance(org_id, str) else None,
    )


_LOGINS: dict[str, Callable[[OrgProfile, requests.Session, _Secrets], _Login]] = {
    "jwt": _jwt_login,
    "password": _password_login,
    "token": _token_login,
    "sfdx": _sfdx_login,
}
