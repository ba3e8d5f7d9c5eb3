from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.config import find_config, load_config
from toolkit.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sftk.toml"
    path.write_text(text)
    return path


def test_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config.objects_dir == tmp_path.resolve() / "objects"
    assert config.output_format == "mdapi" and config.api_version is None
    assert config.plugins.enabled == () and config.orgs == ()


def test_full_config(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            '[project]\nname = "x"\napi_version = "62.0"\nformat = "source"\n'
            'metadata_dirs = ["legacy"]\n'
            '[permission_sets.Ops_User]\nlabel = "Ops"\n'
            '[deletions]\ncomponents = ["CustomField:Account.Old__c"]\nwhen = "post"\n'
            '[orgs.local]\nkind = "local"\n'
            '[orgs.uat]\nkind = "sandbox"\nlogin_url = "https://test.salesforce.com"\n'
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
