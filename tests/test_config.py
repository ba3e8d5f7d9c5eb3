from __future__ import annotations

import re
from pathlib import Path

import pytest

from toolkit.config import CoveragePolicy, OrgProfile, find_config, load_config
from toolkit.errors import ConfigError
from toolkit.scaffold import init_project


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sftk.toml"
    path.write_text(text)
    return path


def test_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config.objects_dir == tmp_path.resolve() / "objects"
    assert config.output_format == "mdapi" and config.api_version is None
    assert config.plugins.enabled == ()
    assert config.orgs == (OrgProfile(name="local", kind="local", auth="local"),)
    assert config.coverage == CoveragePolicy(75.0, 75.0, ())


def test_full_config(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            '[project]\nname = "x"\napi_version = "62.0"\nformat = "source"\n'
            'metadata_dirs = ["legacy"]\n'
            '[permission_sets.Ops_User]\nlabel = "Ops"\n'
            '[deletions]\ncomponents = ["CustomField:Account.Old__c"]\nwhen = "post"\n'
            '[orgs.local]\nkind = "local"\n'
            '[orgs.uat]\nkind = "sandbox"\nauth = "password"\nusername = "u@x.com"\n'
            'password_env = "UAT_PASSWORD"\nlogin_url = "https://test.salesforce.com"\n'
            '[plugins]\nenabled = ["lms"]\n[plugins.lms]\nbase_url = "https://lms.example"\n',
        )
    )
    assert config.api_version == "62.0" and config.output_format == "source"
    assert config.metadata_dirs == (tmp_path.resolve() / "legacy",)
    assert config.permission_sets[0].label == "Ops"
    assert config.deletions == ("CustomField:Account.Old__c",) and config.deletion_timing == "post"
    assert [(o.name, o.kind) for o in config.orgs] == [("local", "local"), ("uat", "sandbox")]
    assert config.plugins.for_plugin("lms")["base_url"] == "https://lms.example"
    assert dict(config.plugins.for_plugin("other")) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[project]\napi_version = "sixty"\n', "is not an API version"),
        ('[project]\nformat = "zip"\n', "unknown value 'zip'"),
        ('[orgs.x]\nkind = "prod"\n', "unknown value 'prod'"),
        ("[orgs.x]\n", "kind: is required"),
        ('[projct]\nname = "x"\n', "unknown key 'projct'"),
        ("[project\n", "invalid TOML"),
    ],
)
def test_bad_config_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(write(tmp_path, text))
    assert caught.value.message.startswith("sftk.toml")


def test_find_config_walks_up(tmp_path: Path) -> None:
    write(tmp_path, "")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(deep) == tmp_path / "sftk.toml"


def test_find_config_says_how_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        find_config(tmp_path)
    assert caught.value.hint is not None and "sftk init" in caught.value.hint


def org_error(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return caught.value


JWT_ORG = (
    '[orgs.ci]\nkind = "production"\nauth = "jwt"\nusername = "ci@example.com"\n'
    'client_id_env = "SF_CLIENT_ID"\n'
)


def test_every_auth_method_parses(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            JWT_ORG + 'private_key_file = "certs/server.key"\napi_version = "64.0"\n'
            '[orgs.uat]\nkind = "sandbox"\nauth = "password"\nusername = "u@example.com.uat"\n'
            'password_env = "SF_PASSWORD"\nsecurity_token_env = "SF_TOKEN"\n'
            'client_id_env = "SF_APP"\nclient_secret_env = "SF_APP_SECRET"\n'
            '[orgs.dev]\nkind = "developer"\nauth = "token"\n'
            'access_token_env = "SF_ACCESS_TOKEN"\ninstance_url_env = "SF_INSTANCE_URL"\n'
            '[orgs.scratch]\nkind = "developer"\nauth = "sfdx"\nalias = "my-scratch"\n',
        )
    )
    ci, uat, dev, scratch, local = config.orgs
    assert (ci.auth, ci.login_url, ci.api_version) == (
        "jwt",
        "https://login.salesforce.com",
        "64.0",
    )
    assert ci.private_key_file == tmp_path.resolve() / "certs" / "server.key"
    assert (ci.username, ci.client_id_env, ci.private_key_env) == (
        "ci@example.com",
        "SF_CLIENT_ID",
        None,
    )
    assert (uat.login_url, uat.password_env, uat.security_token_env) == (
        "https://test.salesforce.com",
        "SF_PASSWORD",
        "SF_TOKEN",
    )
    assert (uat.client_id_env, uat.client_secret_env) == ("SF_APP", "SF_APP_SECRET")
    assert (dev.access_token_env, dev.instance_url_env, dev.login_url) == (
        "SF_ACCESS_TOKEN",
        "SF_INSTANCE_URL",
        None,
    )
    assert (scratch.auth, scratch.alias) == ("sfdx", "my-scratch")
    assert (local.name, local.kind, local.auth) == ("local", "local", "local")


def test_local_orgs_of_any_kind_each_keep_their_own_state(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            '[orgs.rehearsal]\nkind = "production"\nauth = "local"\n'
            '[orgs.uat]\nkind = "sandbox"\nauth = "local"\nstate = "orgs/uat-org"\n',
        )
    )
    rehearsal, uat, local = config.orgs
    root = tmp_path.resolve()
    assert (rehearsal.kind, rehearsal.auth) == ("production", "local")
    assert config.local_state(rehearsal) == root / ".sftk" / "orgs" / "rehearsal"
    assert config.local_state(uat) == root / "orgs" / "uat-org"
    assert config.local_state(local) == root / ".sftk" / "localorg"
    with pytest.raises(ConfigError, match="does not apply to auth"):
        load_config(write(tmp_path, '[orgs.p]\nkind = "production"\nauth = "token"\nstate = "x"\n'))


def test_an_explicit_local_profile_is_not_doubled(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[orgs.local]\nkind = "local"\napi_version = "61.0"\n'))
    assert [(o.name, o.auth, o.api_version) for o in config.orgs] == [("local", "local", "61.0")]


@pytest.mark.parametrize(
    ("kind", "written", "expected"),
    [
        ("production", None, "https://login.salesforce.com"),
        ("developer", None, "https://login.salesforce.com"),
        ("sandbox", None, "https://test.salesforce.com"),
        ("sandbox", "login", "https://login.salesforce.com"),
        ("production", "test", "https://test.salesforce.com"),
        ("production", "https://Acme.my.salesforce.com/", "https://acme.my.salesforce.com"),
        ("sandbox", "https://acme--uat.sandbox.my.salesforce.com", None),
    ],
)
def test_login_url_normalised_and_defaulted_by_kind(
    tmp_path: Path, kind: str, written: str | None, expected: str | None
) -> None:
    line = "" if written is None else f'login_url = "{written}"\n'
    text = (
        f'[orgs.x]\nkind = "{kind}"\nauth = "password"\nusername = "u@x.com"\n'
        f'password_env = "P"\n{line}'
    )
    assert load_config(write(tmp_path, text)).orgs[0].login_url == (expected or written)


@pytest.mark.parametrize(
    "url",
    ["http://acme.my.salesforce.com", "https://acme.my.salesforce.com/home", "acme", "https://"],
)
def test_login_url_must_be_login_test_or_https_host(tmp_path: Path, url: str) -> None:
    error = org_error(tmp_path, JWT_ORG + f'private_key_env = "K"\nlogin_url = "{url}"\n')
    assert error.message.startswith("sftk.toml:7: orgs.ci.login_url: is not")
    assert error.hint is not None and "My Domain" in error.hint


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ('[orgs.p]\nkind = "production"\n', "auth: is required for a production org", "jwt"),
        ('[orgs.p]\nkind = "sandbox"\nauth = "oauth"\n', "unknown value 'oauth'", "sfdx"),
        ('[orgs.p]\nkind = "local"\nauth = "token"\n', "does not go with kind", "local"),
        (
            '[orgs.p]\nkind = "developer"\nauth = "sfdx"\n',
            'alias: is required for auth = "sfdx"',
            "sf org list",
        ),
        (JWT_ORG, 'private_key_file: auth = "jwt" needs exactly one of', "private_key_env"),
        (JWT_ORG + 'private_key_file = "a.key"\nprivate_key_env = "K"\n', "exactly one", "SF_JWT"),
        (
            '[orgs.p]\nkind = "developer"\nauth = "token"\naccess_token_env = "T"\n',
            'instance_url_env: is required for auth = "token"',
            "SF_INSTANCE_URL",
        ),
        (
            '[orgs.p]\nkind = "developer"\nauth = "password"\npassword_env = "P"\n',
            'username: is required for auth = "password"',
            "deploy@example.com",
        ),
        (
            JWT_ORG + 'private_key_env = "K"\nalias = "x"\n',
            'does not apply to auth = "jwt"',
            "keys for auth = jwt: kind, auth, api_version, username, client_id_env",
        ),
        (
            '[orgs.p]\nkind = "developer"\nauth = "sfdx"\nalias = "a"\nlogin_url = "login"\n',
            'login_url: does not apply to auth = "sfdx"',
            "alias",
        ),
        (
            '[orgs.p]\nkind = "developer"\nauth = "sfdx"\nalias = "a"\nnickname = "x"\n',
            "unknown key 'nickname'",
            "alias",
        ),
        (
            '[orgs.p]\nkind = "developer"\nauth = "password"\nusername = "u"\npassword_env = "P"\n'
            'client_secret_env = "S"\n',
            "needs client_id_env",
            "consumer key",
        ),
        (
            '[orgs.p]\nkind = "developer"\nauth = "sfdx"\nalias = "a"\napi_version = "v60"\n',
            "'v60' is not an API version",
            "63.0",
        ),
    ],
)
def test_org_profile_problems_say_how_to_fix(
    tmp_path: Path, text: str, message: str, hint: str
) -> None:
    error = org_error(tmp_path, text)
    assert message in error.message and error.message.startswith("sftk.toml:")
    assert error.hint is not None and hint in error.hint


@pytest.mark.parametrize(
    ("key", "instead"),
    [
        ("password", "password_env"),
        ("access_token", "access_token_env"),
        ("private_key", "private_key_file"),
        ("security_token", "security_token_env"),
        ("client_secret", "client_secret_env"),
        ("api_token", "*_env"),
    ],
)
def test_secret_values_are_refused_without_echoing_them(
    tmp_path: Path, key: str, instead: str
) -> None:
    secret = "s3cr3t-Value-9x"
    error = org_error(
        tmp_path, f'[orgs.p]\nkind = "developer"\nauth = "token"\n{key} = "{secret}"\n'
    )
    assert error.message == f"sftk.toml:4: orgs.p.{key}: sftk.toml must not hold secrets"
    assert error.hint is not None and instead in error.hint
    assert secret not in str(error)


def test_env_keys_must_name_a_variable_not_hold_the_value(tmp_path: Path) -> None:
    secret = "00Dxx0000001gPL!AR8AQJXg5oj8jXSgxJfA"
    error = org_error(
        tmp_path,
        f'[orgs.p]\nkind = "developer"\nauth = "token"\naccess_token_env = "{secret}"\n'
        'instance_url_env = "URL"\n',
    )
    assert "access_token_env: is not an environment variable name" in error.message
    assert secret not in str(error)


def test_coverage_table(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            "[coverage]\norg_wide = 80\nper_class = 72.5\n"
            '[coverage.classes]\n"Legacy*" = 0\n"Billing*" = 90\n"*Service" = 100\n',
        )
    )
    assert config.coverage == CoveragePolicy(
        80.0, 72.5, (("Legacy*", 0.0), ("Billing*", 90.0), ("*Service", 100.0))
    )
    only_classes = load_config(write(tmp_path, '[coverage.classes]\n"A*" = 50\n'))
    assert only_classes.coverage == CoveragePolicy(75.0, 75.0, (("A*", 50.0),))


@pytest.mark.parametrize(
    ("text", "where", "hint"),
    [
        ("[coverage]\norg_wide = 101\n", "coverage.org_wide", "org_wide = 75"),
        ('[coverage]\nper_class = "high"\n', "coverage.per_class", "per_class = 75"),
        ("[coverage]\nper_class = true\n", "coverage.per_class", "per_class = 75"),
        ('[coverage.classes]\n"Old*" = -1\n', "coverage.classes.Old*", '"Old*" = 75'),
    ],
)
def test_coverage_bars_are_percentages(tmp_path: Path, text: str, where: str, hint: str) -> None:
    error = org_error(tmp_path, text)
    assert error.message == f"sftk.toml:2: {where}: must be a number from 0 to 100"
    assert error.hint == f"write it like {hint}"


def test_coverage_unknown_key(tmp_path: Path) -> None:
    error = org_error(tmp_path, "[coverage]\nminimum = 80\n")
    assert "unknown key 'minimum'" in error.message
    assert error.hint == "valid keys here: classes, org_wide, per_class"


def test_scaffold_examples_are_valid_when_uncommented(tmp_path: Path) -> None:
    """Every commented-out table and key of the starter sftk.toml parses once a user enables it."""
    config_path = init_project(tmp_path, api_version="63.0", installed_plugins=[])[0]
    setting = re.compile(r'^# (\[[^\]]+\]|[A-Za-z_"*][\w"*.-]* = .+)$')
    lines = config_path.read_text().splitlines()
    enabled = [line[2:] if setting.match(line) else line for line in lines]
    assert sum(a != b for a, b in zip(lines, enabled, strict=True)) > 30
    config_path.write_text("\n".join(enabled) + "\n")
    config = load_config(config_path)
    assert [(o.name, o.auth) for o in config.orgs] == [
        ("local", "local"),
        ("rehearsal-sandbox", "local"),
        ("rehearsal-prod", "local"),
        ("prod", "jwt"),
        ("uat", "password"),
        ("dev", "token"),
        ("scratch", "sfdx"),
    ]
    assert config.orgs[3].login_url == "https://example.my.salesforce.com"
    assert config.coverage.patterns == (("Legacy*", 0.0), ("Billing*", 90.0))
    assert config.sync.bulk_threshold == 2000 and config.sync.lookback_seconds == 3600
    assert {(o.stream, o.mapping.target, o.skip) for o in config.mappings} == {
        ("customers", "Phone", False),
        ("customers", "Industry", True),
    }
