"""The ``sftk org`` commands: the org profiles of sftk.toml, and the local org on loopback."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from dataclasses import asdict
from pathlib import Path

import click
from rich.markup import escape

from toolkit.cli.common import Options, emit_json, err, org_option, out
from toolkit.config import LOCAL_PROFILE, ORG_ENV, OrgProfile
from toolkit.errors import ConfigError, ExitCode, SftkError, UsageError
from toolkit.fsio import read_regular_file, utf8_text
from toolkit.project import open_project


@click.group()
def org() -> None:
    """Org commands: the org profiles of sftk.toml, and the local org on loopback."""


@org.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def org_list(opts: Options, as_json: bool) -> int:
    """List the org profiles of sftk.toml (and the implicit local one)."""
    profiles = open_project(opts.project_dir, no_plugins=True).config.orgs
    rows = [
        {
            "name": p.name,
            "kind": p.kind,
            "auth": p.auth,
            "login_url": p.login_url,
            "username": p.username,
            "alias": p.alias,
            "api_version": p.api_version,
        }
        for p in profiles
    ]
    if as_json:
        emit_json(rows)
    else:
        width = max(len(p.name) for p in profiles)
        for p in profiles:
            where = p.login_url or (f"sf alias {p.alias}" if p.alias else "-")
            out.print(f"{escape(p.name.ljust(width))}  {p.kind:<10}  {p.auth:<8}  {escape(where)}")
    return ExitCode.OK


@org.command(name="import")
@click.argument("aliases", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def org_import(opts: Options, aliases: tuple[str, ...], as_json: bool) -> int:
    """Add an org profile for each org the Salesforce CLI has an alias for (or for ALIASES),
    logging in through the CLI (auth = "sfdx")."""
    from toolkit.org_import import import_orgs

    config = open_project(opts.project_dir, no_plugins=True).config
    done = import_orgs(config, os.environ, aliases)
    if as_json:
        emit_json(
            {
                "added": [asdict(o) for o in done.added],
                "skipped": [{**asdict(o), "why": why} for o, why in done.skipped],
            }
        )
        return ExitCode.OK
    for found in done.added:
        out.print(escape(f"added [orgs.{found.alias}]: kind {found.kind}, {found.username}"))
    for found, why in done.skipped:
        err.print(escape(f"skipped {found.alias or found.username}: {why}"))
    if done.added:
        err.print("check each kind in sftk.toml: production profiles take only what a sandbox took")
    elif not done.skipped:
        out.print("the Salesforce CLI knows no org: `sf org login web --alias NAME` adds one")
    return ExitCode.OK


@org.command(name="show")
@click.argument("name", required=False, envvar=ORG_ENV)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def org_show(opts: Options, name: str | None, as_json: bool) -> int:
    """Connect to the org profile NAME and describe the org (default: SFTK_ORG, else
    [project] default_org, else local)."""
    from toolkit.salesforce.auth import find_profile, open_connection
    from toolkit.salesforce.org_info import describe_org

    config = open_project(opts.project_dir, no_plugins=True).config
    name = name or config.default_org or LOCAL_PROFILE
    profile = find_profile(config, name)
    with open_connection(config, name) as conn:
        summary = describe_org(conn)
    if as_json:
        emit_json(summary.to_json())
        return ExitCode.OK
    remaining, allowance = summary.api_requests_remaining, summary.api_requests_max
    requests_left = (
        "unknown" if remaining is None else f"{remaining:,} of {allowance or 0:,} left today"
    )
    lines = [
        ("profile", f"{summary.profile} ({summary.kind}, auth {profile.auth})"),
        ("instance", summary.instance_url),
        ("username", summary.username or "-"),
        ("org id", summary.org_id or "-"),
        ("user id", summary.user_id or "-"),
        ("organization", summary.name),
        ("edition", summary.edition),
        ("sandbox", "yes" if summary.is_sandbox else "no"),
        ("instance name", summary.instance_name or "-"),
        ("api version", summary.api_version),
        ("api requests", requests_left),
    ]
    for label, value in lines:
        out.print(f"{label + ':':<15}{escape(value)}")
    return ExitCode.OK


@org.group(name="coverage")
def coverage() -> None:
    """The Apex coverage a local org's test runs report (it runs no Apex)."""


@coverage.command(name="show")
@org_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def coverage_show(opts: Options, org: str, as_json: bool) -> int:
    """Print a local org's coverage profile."""
    from toolkit.deploy import commands

    found = commands.coverage_profile(opts.project(), org)
    if as_json:
        emit_json(found)
    else:
        out.print(escape(json.dumps(found, indent=2, sort_keys=True)))
    return ExitCode.OK


@coverage.command(name="set")
@org_option
@click.option(
    "--file",
    "profile_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The profile as JSON (docs/localorg.md shows it).",
)
@click.option("--from", "source_org", help="Copy the profile of this local org profile.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def coverage_set(
    opts: Options, org: str, profile_file: Path | None, source_org: str | None, as_json: bool
) -> int:
    """Set what a local org's Apex test runs cover and which tests fail, from a JSON file or
    another local org (a rehearsal production org starts with none: every class at 0%)."""
    from toolkit.deploy import commands

    if (profile_file is None) == (source_org is None):
        raise UsageError("give one of --file and --from", hint="--file coverage.json")
    project = opts.project()
    if profile_file is not None:
        source = str(profile_file)
        text = utf8_text(read_regular_file(profile_file), str(profile_file))
        try:
            profile = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{profile_file}: not a JSON coverage profile ({exc})") from None
    else:
        assert source_org is not None
        source = f"the coverage profile of {source_org}"
        profile = commands.coverage_profile(project, source_org)
    kept = commands.set_coverage_profile(project, org, profile, source=source)
    if as_json:
        emit_json(kept)
    else:
        counts = ", ".join(f"{len(kept[k])} {k}" for k in ("classes", "triggers", "tests"))
        out.print(escape(f"coverage profile of {org} set from {source}: {counts}"))
    return ExitCode.OK


@org.command()
@click.option(
    "--state",
    "state_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="State folder (default: the project's .sftk/localorg, else ./.sftk/localorg).",
)
@click.option(
    "--org",
    "profile",
    help='Serve the local org of this profile of sftk.toml (a profile with auth = "local").',
)
@click.option("--port", default=0, show_default=True, help="HTTPS port (0: any free port).")
@click.option("--http-port", type=int, help="Also serve plain HTTP on this port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--json", "as_json", is_flag=True, help="Print the connection as JSON.")
@click.pass_obj
def serve(
    opts: Options,
    state_dir: Path | None,
    profile: str | None,
    port: int,
    http_port: int | None,
    host: str,
    as_json: bool,
) -> int:
    """Run the local org in the foreground until interrupted (Ctrl-C)."""
    from toolkit.localorg.embedded import KIND_FACTS
    from toolkit.localorg.org import CONNECTION_FILE, start

    folder, kind = state_dir, None
    if folder is None:
        folder, kind = _default_state_dir(opts, profile)
    facts = None if kind is None else KIND_FACTS.get(kind)
    running = start(folder, host=host, port=port, http_port=http_port, facts=facts)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        if as_json:
            emit_json(running.connection)
        else:
            for key in sorted(running.connection):
                out.print(f"{key}: {escape(running.connection[key])}")
            err.print(
                f"connection written to {escape(str(folder / CONNECTION_FILE))}; Ctrl-C stops"
            )
        sys.stdout.flush()
        stop.wait()
        err.print("stopping")
    finally:
        running.stop()
    return ExitCode.OK


def _default_state_dir(opts: Options, profile: str | None) -> tuple[Path, str | None]:
    """The state folder to serve, and the kind of org it stands in for (its profile's)."""
    if profile is not None:
        chosen = _local_profile(opts, profile)
        config = open_project(opts.project_dir, no_plugins=True).config
        return config.local_state(chosen), chosen.kind
    try:
        config = open_project(opts.project_dir, no_plugins=True).config
    except SftkError:
        return Path.cwd() / ".sftk" / "localorg", None
    return config.state_dir / "localorg", LOCAL_PROFILE


def _local_profile(opts: Options, name: str) -> OrgProfile:
    from toolkit.salesforce.auth import find_profile

    config = open_project(opts.project_dir, no_plugins=True).config
    chosen = find_profile(config, name)
    if chosen.auth != "local":
        raise UsageError(
            f"org profile {name} is not a local org (auth = {chosen.auth})",
            hint='this needs a profile with auth = "local"',
        )
    return chosen


COMMANDS = (org,)
