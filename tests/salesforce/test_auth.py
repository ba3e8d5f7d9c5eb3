"""Opening connections by every auth method, against the local org over real HTTPS.

Non-local profiles point login_url (or the instance URL) at the module's local org and trust
its certificate through REQUESTS_CA_BUNDLE, as a user behind a TLS-inspecting proxy would.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import socket
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from toolkit.config import ProjectConfig, load_config
from toolkit.errors import ConfigError, ExitCode, OrgError, UsageError
from toolkit.localorg.identity import DEFAULT_CLIENT_ID, DEFAULT_PASSWORD
from toolkit.localorg.org import RunningOrg, start
from toolkit.salesforce.auth import jwt_audience, open_connection, signed_assertion
from toolkit.salesforce.connection import OrgConnection
from toolkit.salesforce.redact import REDACTED, redact

if TYPE_CHECKING:
    from tests.conftest import Control, Run

USERNAME = "admin@local.sftk"
APP_KEY = "sftk-auth-test-app"


def project(folder: Path, text: str) -> ProjectConfig:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sftk.toml").write_text(text, encoding="utf-8")
    return load_config(folder / "sftk.toml")


E = TypeVar("E", bound=Exception)


def refusal(
    expected: type[E], config: ProjectConfig, name: str, env: dict[str, str] | None = None
) -> E:
    """The error opening profile ``name`` raises; connecting at all fails the test."""
    with pytest.raises(expected) as caught, open_connection(config, name, env=env):
        pytest.fail(f"profile {name!r} connected")
    return caught.value


def answers(url: str, ca_bundle: str) -> bool:
    session = requests.Session()
    session.trust_env = False
    try:
        return session.get(f"{url}/services/data", verify=ca_bundle, timeout=5).status_code == 200
    except requests.ConnectionError:
        return False
    finally:
        session.close()


def organization_name(conn: OrgConnection) -> str:
    """A real call on the connection: the session, token and version all have to work."""
    rows = conn.rest().query("SELECT Name FROM Organization")["records"]
    return str(rows[0]["Name"])


@pytest.fixture
def trust_org(local_org: RunningOrg, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", local_org.ca_bundle)


class KeyPair:
    """An RSA key and self-signed certificate, as a user makes for a JWT connected app."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sftk auth test")])
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
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )


@pytest.fixture(scope="module")
def app_keys(control: Control) -> KeyPair:
    keys = KeyPair()
    control.call(
        "POST", "/_sftk/connected-apps", {"consumer_key": APP_KEY, "certificate": keys.cert_pem}
    )
    return keys


@pytest.fixture
def credentials_restored(control: Control) -> Iterator[None]:
    yield
    control.call("POST", "/_sftk/credentials", {"password": DEFAULT_PASSWORD})


def jwt_profile(local_org: RunningOrg, key_line: str, kind: str = "developer") -> str:
    return (
        f'[orgs.ci]\nkind = "{kind}"\nauth = "jwt"\nusername = "{USERNAME}"\n'
        f'client_id_env = "SFTK_T_CLIENT"\n{key_line}\nlogin_url = "{local_org.instance_url}"\n'
    )


# ---------------------------------------------------------------- local


def test_local_starts_an_org_for_the_block_and_stops_it_after(tmp_path: Path) -> None:
    config = project(tmp_path / "p", "")
    with open_connection(config, "local") as conn:
        assert (conn.profile, conn.kind, conn.username) == ("local", "local", USERNAME)
        assert conn.org_id is not None and conn.org_id.startswith("00D")
        assert conn.user_id is not None and conn.user_id.startswith("005")
        assert conn.api_version == "66.0"  # no version configured: the org's newest
        assert conn.session.trust_env is False
        ca_bundle = str(conn.session.verify)
        assert Path(ca_bundle).is_relative_to(config.state_dir / "localorg")
        assert organization_name(conn) == "sftk Local Org"
        url = conn.instance_url
        assert answers(url, ca_bundle)
    assert not answers(url, ca_bundle)


def test_local_reuses_the_running_server_and_leaves_it_running(tmp_path: Path) -> None:
    config = project(tmp_path / "p", '[project]\napi_version = "62.0"\n')
    server = start(config.state_dir / "localorg")
    try:
        with open_connection(config, "local") as conn:
            assert conn.instance_url == server.instance_url
            assert conn.access_token == server.access_token
            assert conn.api_version == "62.0"  # the project's version beats the org's newest
            assert organization_name(conn) == "sftk Local Org"
        assert answers(server.instance_url, server.ca_bundle)
    finally:
        server.stop()


# ---------------------------------------------------------------- jwt


def test_jwt_with_a_key_file(
    tmp_path: Path, local_org: RunningOrg, app_keys: KeyPair, trust_org: None
) -> None:
    (tmp_path / "p" / "certs").mkdir(parents=True)
    (tmp_path / "p" / "certs" / "server.key").write_bytes(app_keys.key_pem)
    config = project(
        tmp_path / "p", jwt_profile(local_org, 'private_key_file = "certs/server.key"')
    )
    with open_connection(config, "ci", env={"SFTK_T_CLIENT": APP_KEY}) as conn:
        assert conn.access_token != local_org.access_token  # a token of its own
        assert conn.instance_url == local_org.instance_url and conn.kind == "developer"
        assert (conn.username, conn.org_id) == (USERNAME, local_org.connection["org_id"])
        assert conn.user_id is not None and conn.user_id.startswith("005")
        assert conn.session.trust_env is True  # normal verification, the environment's CAs
        assert organization_name(conn) == "sftk Local Org"


@pytest.mark.parametrize("encode", [bytes.decode, lambda pem: base64.b64encode(pem).decode()])
def test_jwt_with_the_key_in_an_env_var_as_pem_or_base64(
    tmp_path: Path,
    local_org: RunningOrg,
    app_keys: KeyPair,
    trust_org: None,
    encode: Callable[[bytes], str],
) -> None:
    config = project(tmp_path / "p", jwt_profile(local_org, 'private_key_env = "SFTK_T_KEY"'))
    env = {"SFTK_T_CLIENT": APP_KEY, "SFTK_T_KEY": encode(app_keys.key_pem)}
    with open_connection(config, "ci", env=env) as conn:
        assert organization_name(conn) == "sftk Local Org"


def test_jwt_signed_with_the_wrong_key_is_refused_with_a_hint(
    tmp_path: Path, local_org: RunningOrg, app_keys: KeyPair, trust_org: None
) -> None:
    other = KeyPair().key_pem.decode()
    config = project(tmp_path / "p", jwt_profile(local_org, 'private_key_env = "SFTK_T_KEY"'))
    error = refusal(OrgError, config, "ci", {"SFTK_T_CLIENT": APP_KEY, "SFTK_T_KEY": other})
    assert (error.code, error.status) == ("invalid_grant", 400)
    assert "invalid assertion" in error.message
    assert error.hint is not None and "certificate" in error.hint
    assert error.exit_code == ExitCode.ORG_UNREACHABLE
    assert "PRIVATE KEY" not in str(error)


def test_jwt_missing_key_file_names_the_file(
    tmp_path: Path, local_org: RunningOrg, trust_org: None
) -> None:
    config = project(tmp_path / "p", jwt_profile(local_org, 'private_key_file = "nope.key"'))
    error = refusal(ConfigError, config, "ci", {"SFTK_T_CLIENT": APP_KEY})
    assert "nope.key" in str(error)


def test_signed_assertion_claims_and_signature() -> None:
    keys = KeyPair()
    token = signed_assertion(
        keys.key, "consumer", "user@example.com", "https://test.salesforce.com"
    )
    claims = jwt.decode(
        token, keys.key.public_key(), algorithms=["RS256"], audience="https://test.salesforce.com"
    )
    assert (claims["iss"], claims["sub"]) == ("consumer", "user@example.com")
    assert 170 <= claims["exp"] - dt.datetime.now(dt.UTC).timestamp() <= 180
    assert jwt.get_unverified_header(token)["alg"] == "RS256"


@pytest.mark.parametrize(
    ("kind", "login_url", "audience"),
    [
        ("production", "login", "https://login.salesforce.com"),
        ("sandbox", "test", "https://test.salesforce.com"),
        ("sandbox", None, "https://test.salesforce.com"),
        ("production", "https://acme.my.salesforce.com", "https://login.salesforce.com"),
        (
            "developer",
            "https://acme--uat.sandbox.my.salesforce.com",
            "https://test.salesforce.com",
        ),
        ("sandbox", "https://acme--uat.my.salesforce.com", "https://test.salesforce.com"),
    ],
)
def test_jwt_audience_is_a_login_host(
    tmp_path: Path, kind: str, login_url: str | None, audience: str
) -> None:
    url_line = "" if login_url is None else f'login_url = "{login_url}"\n'
    config = project(
        tmp_path,
        f'[orgs.x]\nkind = "{kind}"\nauth = "jwt"\nusername = "u@x.com"\n'
        f'client_id_env = "C"\nprivate_key_env = "K"\n{url_line}',
    )
    assert jwt_audience(config.orgs[0]) == audience


def test_jwt_for_a_sandbox_uses_the_test_audience(
    tmp_path: Path, local_org: RunningOrg, app_keys: KeyPair, control: Control, trust_org: None
) -> None:
    control.call("PATCH", "/_sftk/org", {"is_sandbox": True})
    try:
        config = project(
            tmp_path / "p", jwt_profile(local_org, 'private_key_env = "SFTK_T_KEY"', "sandbox")
        )
        env = {"SFTK_T_CLIENT": APP_KEY, "SFTK_T_KEY": app_keys.key_pem.decode()}
        with open_connection(config, "ci", env=env) as conn:
            assert organization_name(conn) == "sftk Local Org"
        production = project(
            tmp_path / "q", jwt_profile(local_org, 'private_key_env = "SFTK_T_KEY"')
        )
        error = refusal(OrgError, production, "ci", env)
        assert "audience is invalid" in str(error)
        assert error.hint is not None and "test" in error.hint
    finally:
        control.call("PATCH", "/_sftk/org", {"is_sandbox": False})


# ---------------------------------------------------------------- password


def password_profile(local_org: RunningOrg, extra: str = "") -> str:
    return (
        f'[orgs.uat]\nkind = "sandbox"\nauth = "password"\nusername = "{USERNAME}"\n'
        f'password_env = "SFTK_T_PASSWORD"\nlogin_url = "{local_org.instance_url}"\n{extra}'
    )


def test_password_by_soap_login(tmp_path: Path, local_org: RunningOrg, trust_org: None) -> None:
    config = project(tmp_path / "p", password_profile(local_org))
    with open_connection(config, "uat", env={"SFTK_T_PASSWORD": DEFAULT_PASSWORD}) as conn:
        assert conn.access_token != local_org.access_token
        assert (conn.username, conn.org_id) == (USERNAME, local_org.connection["org_id"])
        assert conn.user_id is not None and conn.user_id.startswith("005")
        assert conn.api_version == "66.0"
        assert organization_name(conn) == "sftk Local Org"


def test_password_wrong_is_invalid_login_and_never_printed(
    tmp_path: Path, local_org: RunningOrg, trust_org: None
) -> None:
    config = project(tmp_path / "p", password_profile(local_org))
    wrong = "Wrong-Pa55word!"
    error = refusal(OrgError, config, "uat", {"SFTK_T_PASSWORD": wrong})
    assert (error.code, error.status) == ("INVALID_LOGIN", 500)
    assert error.hint is not None and "security token" in error.hint
    assert wrong not in str(error) and "uat" in error.message


def test_password_with_security_token_appended(
    tmp_path: Path,
    local_org: RunningOrg,
    control: Control,
    credentials_restored: None,
    trust_org: None,
) -> None:
    control.call(
        "POST", "/_sftk/credentials", {"password": "Own-pass-1", "security_token": "TokAbc123"}
    )
    env = {"SFTK_T_PASSWORD": "Own-pass-1", "SFTK_T_TOKEN": "TokAbc123"}
    without = project(tmp_path / "a", password_profile(local_org))
    error = refusal(OrgError, without, "uat", env)
    assert "INVALID_LOGIN" in str(error)
    with_token = project(
        tmp_path / "b", password_profile(local_org, 'security_token_env = "SFTK_T_TOKEN"\n')
    )
    with open_connection(with_token, "uat", env=env) as conn:
        assert organization_name(conn) == "sftk Local Org"


def test_password_by_oauth_when_a_client_id_is_given(
    tmp_path: Path, local_org: RunningOrg, trust_org: None
) -> None:
    config = project(
        tmp_path / "p", password_profile(local_org, 'client_id_env = "SFTK_T_CLIENT"\n')
    )
    env = {"SFTK_T_PASSWORD": DEFAULT_PASSWORD, "SFTK_T_CLIENT": DEFAULT_CLIENT_ID}
    with open_connection(config, "uat", env=env) as conn:
        assert (conn.org_id, conn.username) == (local_org.connection["org_id"], USERNAME)
        assert organization_name(conn) == "sftk Local Org"
    error = refusal(OrgError, config, "uat", {**env, "SFTK_T_PASSWORD": "nope-nope"})
    assert (error.code, error.status) == ("invalid_grant", 400)
    assert "nope-nope" not in str(error)


def test_password_oauth_with_a_consumer_secret(
    tmp_path: Path, local_org: RunningOrg, control: Control, trust_org: None
) -> None:
    control.call(
        "POST",
        "/_sftk/connected-apps",
        {"consumer_key": "sftk-secret-app", "consumer_secret": "Secr3t-Of-App"},
    )
    extra = 'client_id_env = "SFTK_T_CLIENT"\nclient_secret_env = "SFTK_T_SECRET"\n'
    config = project(tmp_path / "p", password_profile(local_org, extra))
    env = {
        "SFTK_T_PASSWORD": DEFAULT_PASSWORD,
        "SFTK_T_CLIENT": "sftk-secret-app",
        "SFTK_T_SECRET": "Secr3t-Of-App",
    }
    with open_connection(config, "uat", env=env) as conn:
        assert organization_name(conn) == "sftk Local Org"
    error = refusal(OrgError, config, "uat", {**env, "SFTK_T_SECRET": "not-it"})
    assert error.code == "invalid_client"


# ---------------------------------------------------------------- token


TOKEN_PROFILE = (
    '[orgs.dev]\nkind = "developer"\nauth = "token"\n'
    'access_token_env = "SFTK_T_ACCESS"\ninstance_url_env = "SFTK_T_URL"\n'
)


def test_token_from_env_vars_fills_identity_from_userinfo(
    tmp_path: Path, local_org: RunningOrg, trust_org: None
) -> None:
    config = project(tmp_path / "p", TOKEN_PROFILE)
    env = {"SFTK_T_ACCESS": local_org.access_token, "SFTK_T_URL": local_org.instance_url + "/"}
    with open_connection(config, "dev", env=env) as conn:
        assert conn.instance_url == local_org.instance_url
        assert conn.access_token == local_org.access_token
        assert (conn.username, conn.org_id) == (USERNAME, local_org.connection["org_id"])
        assert conn.user_id is not None and conn.user_id.startswith("005")
        assert local_org.access_token not in repr(conn)
        assert organization_name(conn) == "sftk Local Org"


def test_token_that_the_org_refuses(tmp_path: Path, local_org: RunningOrg, trust_org: None) -> None:
    config = project(tmp_path / "p", TOKEN_PROFILE)
    bad = "00D000000000001!NotARealSessionToken"
    env = {"SFTK_T_ACCESS": bad, "SFTK_T_URL": local_org.instance_url}
    error = refusal(OrgError, config, "dev", env)
    assert (error.code, error.status) == ("INVALID_SESSION_ID", 401)
    assert error.hint is not None and "SFTK_T_ACCESS" not in error.hint
    assert bad not in str(error)


def test_missing_env_var_is_named(tmp_path: Path, local_org: RunningOrg) -> None:
    config = project(tmp_path / "p", TOKEN_PROFILE)
    error = refusal(ConfigError, config, "dev", {"SFTK_T_ACCESS": "x" * 20})
    assert "SFTK_T_URL" in error.message and "'dev'" in error.message
    assert error.hint is not None and "instance_url_env" in error.hint


def test_instance_url_must_be_https(tmp_path: Path) -> None:
    config = project(tmp_path / "p", TOKEN_PROFILE)
    env = {"SFTK_T_ACCESS": "tok", "SFTK_T_URL": "http://acme.my.salesforce.com"}
    error = refusal(ConfigError, config, "dev", env)
    assert "SFTK_T_URL is not an https URL" in str(error)


def test_unreachable_host_is_a_connection_error(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on once this closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = project(tmp_path / "p", TOKEN_PROFILE)
    secret = "00D000000000001!UnreachableToken"
    env = {"SFTK_T_ACCESS": secret, "SFTK_T_URL": f"https://127.0.0.1:{port}"}
    error = refusal(OrgError, config, "dev", env)
    assert error.code == "CONNECTION" and error.status is None
    assert f"127.0.0.1:{port}" in error.message and "refused" in error.message
    assert secret not in str(error)


def test_api_versions_compare_as_numbers(
    tmp_path: Path, local_org: RunningOrg, control: Control, trust_org: None
) -> None:
    env = {"SFTK_T_ACCESS": local_org.access_token, "SFTK_T_URL": local_org.instance_url}
    pinned = '[project]\napi_version = "62.0"\n' + TOKEN_PROFILE + 'api_version = "58.0"\n'
    with open_connection(project(tmp_path / "b", pinned), "dev", env=env) as conn:
        assert conn.api_version == "58.0"  # the profile's beats the project's
    control.call("PATCH", "/_sftk/org", {"api_version_min": "9.0", "api_version_max": "10.0"})
    try:
        with open_connection(project(tmp_path / "a", TOKEN_PROFILE), "dev", env=env) as conn:
            assert conn.api_version == "10.0"  # as text "9.0" would sort last
    finally:
        control.call("PATCH", "/_sftk/org", {"api_version_min": "51.0", "api_version_max": "66.0"})


def test_unknown_profile_lists_the_known_ones(tmp_path: Path) -> None:
    config = project(tmp_path / "p", TOKEN_PROFILE)
    error = refusal(UsageError, config, "prod")
    assert "'prod'" in error.message
    assert error.hint is not None and "dev, local" in error.hint


# ---------------------------------------------------------------- sfdx


FAKE_SF = """#!/bin/sh
printf '%s\\n' "$@" > "{argv_file}"
if [ "$5" != "{alias}" ]; then
  echo '{{"status": 1, "name": "NamedOrgNotFoundError", "message": "No authorization \
information found for '"$5"'.", "exitCode": 1}}'
  exit 1
fi
cat <<'JSON'
{answer}
JSON
"""


def fake_sf(folder: Path, local_org: RunningOrg, alias: str) -> Path:
    """An ``sf`` that prints what ``sf org display --json`` prints for an authorized org."""
    folder.mkdir(parents=True)
    answer = {
        "status": 0,
        "result": {
            "id": local_org.connection["org_id"],
            "apiVersion": "62.0",
            "accessToken": local_org.access_token,
            "instanceUrl": local_org.instance_url,
            "username": USERNAME,
            "clientId": "PlatformCLI",
            "connectedStatus": "Connected",
            "alias": alias,
        },
        "warnings": [],
    }
    script = folder / "sf"
    script.write_text(
        FAKE_SF.format(argv_file=folder / "argv", alias=alias, answer=json.dumps(answer, indent=2))
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


SFDX_PROFILE = '[orgs.scratch]\nkind = "developer"\nauth = "sfdx"\nalias = "{alias}"\n'


def test_sfdx_reads_sf_org_display(tmp_path: Path, local_org: RunningOrg, trust_org: None) -> None:
    bin_dir = fake_sf(tmp_path / "bin", local_org, "my-scratch")
    config = project(tmp_path / "p", SFDX_PROFILE.format(alias="my-scratch"))
    with open_connection(config, "scratch", env={"PATH": f"{bin_dir}:/usr/bin:/bin"}) as conn:
        assert (bin_dir / "argv").read_text().split() == [
            "org",
            "display",
            "--json",
            "--target-org",
            "my-scratch",
        ]
        assert (conn.username, conn.org_id) == (USERNAME, local_org.connection["org_id"])
        assert conn.user_id is not None and conn.user_id.startswith("005")
        assert conn.api_version == "66.0"  # the org's newest, not the CLI's default
        assert organization_name(conn) == "sftk Local Org"


def test_sfdx_unknown_alias_carries_the_cli_error(
    tmp_path: Path, local_org: RunningOrg, trust_org: None
) -> None:
    bin_dir = fake_sf(tmp_path / "bin", local_org, "my-scratch")
    config = project(tmp_path / "p", SFDX_PROFILE.format(alias="gone"))
    error = refusal(OrgError, config, "scratch", {"PATH": f"{bin_dir}:/usr/bin:/bin"})
    assert error.code == "NamedOrgNotFoundError"
    assert "No authorization information found for gone" in error.message
    assert error.hint is not None and "sf org login web --alias gone" in error.hint


def test_sfdx_without_sf_on_path(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    config = project(tmp_path / "p", SFDX_PROFILE.format(alias="my-scratch"))
    error = refusal(OrgError, config, "scratch", {"PATH": str(tmp_path / "empty")})
    assert error.code == "SF_CLI_NOT_FOUND"
    assert error.hint is not None and "@salesforce/cli" in error.hint


# ---------------------------------------------------------------- secrets


def test_redact_every_spelling_of_every_secret() -> None:
    secret = "00Dx!a/b+c&d"
    text = f"raw {secret} form a%2Fb json {json.dumps(secret)} xml 00Dx!a/b+c&amp;d"
    text += " url 00Dx%21a%2Fb%2Bc%26d plus 00Dx%21a%2Fb%2Bc%26d"
    cleaned = redact(text, [secret, None, ""])
    assert secret not in cleaned and "00Dx" not in cleaned
    assert cleaned.count(REDACTED) == 5 and "a%2Fb json" in cleaned
    long, longer = "s3cr3t-pw", "s3cr3t-pw-and-token"
    assert redact(f"{long} {longer}", [long, longer]) == f"{REDACTED} {REDACTED}"  # longest first


def test_redact_only_whole_secrets_long_enough_to_be_secrets() -> None:
    message = "org profile 'dev': login refused: INVALID_LOGIN"
    assert redact(message, ["e", "dev", "profile"]) == message  # too short to be secrets
    assert redact("pw=Hunter2000! ok", ["Hunter2000"]) == f"pw={REDACTED}! ok"
    assert redact("xHunter2000 Hunter2000x Hunter2000_1", ["Hunter2000"]) == (
        "xHunter2000 Hunter2000x Hunter2000_1"  # glued to other characters: another word
    )


def test_org_show_never_prints_the_token(tmp_path: Path, sftk: Run, local_org: RunningOrg) -> None:
    folder = tmp_path / "p"
    project(folder, TOKEN_PROFILE)
    env = {
        "SFTK_T_ACCESS": local_org.access_token,
        "SFTK_T_URL": local_org.instance_url,
        "REQUESTS_CA_BUNDLE": local_org.ca_bundle,
    }
    human = sftk("org", "show", "dev", cwd=folder, env=env)
    assert human.returncode == 0, human.stderr
    assert "organization:  sftk Local Org" in human.stdout
    assert "edition:       Developer Edition" in human.stdout
    assert f"username:      {USERNAME}" in human.stdout
    as_json = sftk("org", "show", "dev", "--json", cwd=folder, env=env)
    assert as_json.returncode == 0, as_json.stderr
    shown = json.loads(as_json.stdout)
    assert shown["org_id"] == local_org.connection["org_id"] and shown["is_sandbox"] is False
    assert shown["api_requests_max"] == 15_000
    assert 0 < shown["api_requests_remaining"] < 15_000
    for result in (human, as_json):
        assert local_org.access_token not in result.stdout + result.stderr


def test_org_show_failure_never_prints_the_token(
    tmp_path: Path, sftk: Run, local_org: RunningOrg
) -> None:
    folder = tmp_path / "p"
    project(folder, TOKEN_PROFILE)
    bad = "00D000000000001!ExpiredTokenValue"
    env = {
        "SFTK_T_ACCESS": bad,
        "SFTK_T_URL": local_org.instance_url,
        "REQUESTS_CA_BUNDLE": local_org.ca_bundle,
    }
    for args in (("org", "show", "dev"), ("org", "show", "dev", "--json")):
        result = sftk(*args, cwd=folder, env=env)
        assert result.returncode == ExitCode.ORG_UNREACHABLE, result.stderr
        assert "INVALID_SESSION_ID" in result.stdout + result.stderr
        assert bad not in result.stdout + result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["exit_code"] == ExitCode.ORG_UNREACHABLE and "access token" in error["hint"]


def test_org_show_local_describes_the_org(tmp_path: Path, sftk: Run) -> None:
    folder = tmp_path / "p"
    project(folder, "")
    result = sftk("org", "show", "--json", cwd=folder)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert (shown["profile"], shown["kind"], shown["edition"]) == (
        "local",
        "local",
        "Developer Edition",
    )
    assert shown["instance_name"] == "LOCAL1" and shown["username"] == USERNAME
    connection = json.loads((folder / ".sftk" / "localorg" / "connection.json").read_text())
    assert connection["access_token"] not in result.stdout
