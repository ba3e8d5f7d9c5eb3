"""THE plugin contract: every hook a plugin may implement, documented top to bottom.

A plugin is a module or object registered under the entry-point group ``sftk.plugins``; the
entry point's name is the plugin's name, the one a project lists in ``[plugins] enabled``.
Implement hooks with the ``hookimpl`` marker; an implementation takes only the arguments it
needs, by name. Hooks return typed, frozen dataclasses from ``toolkit.metadata.specs`` (what the
org must have) and ``toolkit.sync.contract`` (the data a source brings), never loose dicts.

A plugin says which version of this contract it was written for with a module attribute,
``SFTK_API_VERSION = 2``; sftk skips (and ``sftk plugins`` reports) a plugin written for a
version it does not support. Version 1 had only the metadata hooks, whose meaning is unchanged,
so plugins that declare nothing are taken as version 1 and still load.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pluggy

from toolkit.metadata.specs import LayoutPatch, ObjectSpec, PermissionSetSpec
from toolkit.sync.contract import (
    CheckResult,
    FieldMapping,
    OrgAccess,
    RecordFailure,
    RunInfo,
    SettingProblem,
    SourceSpec,
    StreamSpec,
)
from toolkit.sync.report import RunReport

PROJECT_NAME = "sftk"
ENTRY_POINT_GROUP = "sftk.plugins"
PLUGIN_API_VERSION = 2
SUPPORTED_API_VERSIONS = (1, 2)
API_VERSION_ATTRIBUTE = "SFTK_API_VERSION"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def sftk_object_specs(settings: Mapping[str, Any]) -> Sequence[ObjectSpec]:
    """Objects (or fields on standard objects) the plugin needs in the org.

    :param settings: the plugin's own table from sftk.toml (``[plugins.<name>]``), read-only;
        empty when the project sets nothing.
    :return: ObjectSpec values; they are rendered with the project's own specs. Fields a plugin
        adds to a standard object (Contact, Event…) are merged with other plugins' fields.

    Example::

        @hookimpl
        def sftk_object_specs(settings):
            return load_object_dir(Path(__file__).parent / "objects")
    """
    raise AssertionError("hookspec body never runs")


@hookspec
def sftk_permission_sets(settings: Mapping[str, Any]) -> Sequence[PermissionSetSpec]:
    """Labels and descriptions of the permission sets the plugin's object specs grant access in.

    :param settings: the plugin's own table from sftk.toml, read-only.
    :return: PermissionSetSpec values; a project's ``[permission_sets.<Name>]`` wins over them.

    Example::

        @hookimpl
        def sftk_permission_sets(settings):
            return [PermissionSetSpec("LMS_Admin", "LMS Admin", "Manage courses")]
    """
    raise AssertionError("hookspec body never runs")


@hookspec
def sftk_template_dirs() -> Sequence[Path]:
    """Folders of Jinja templates that override the built-in ones for this plugin's users.

    Search order: the project's templates folder, then plugins' folders, then the built-in ones.

    :return: absolute folder paths holding ``<MetadataType>.xml.j2`` files.

    Example::

        @hookimpl
        def sftk_template_dirs():
            return [Path(__file__).parent / "templates"]
    """
    raise AssertionError("hookspec body never runs")


@hookspec
def sftk_validate_settings(settings: Mapping[str, Any], root: Path) -> Sequence[SettingProblem]:
    """Check the plugin's own ``[plugins.<name>]`` table before anything else runs.

    :param settings: the plugin's table from sftk.toml, read-only.
    :param root: the project folder (relative paths in settings are relative to it).
    :return: one SettingProblem per unknown key or bad value, ``key`` dotted from the table;
        empty when the table is fine. Any problem stops the command with exit 2, naming the
        key and its line in sftk.toml.

    Example::

        @hookimpl
        def sftk_validate_settings(settings):
            unknown = set(settings) - {"url", "token_env"}
            return [SettingProblem(key, "unknown key", "valid keys: url, token_env")
                    for key in sorted(unknown)]
    """
    raise AssertionError("hookspec body never runs")


@hookspec
def sftk_sources(settings: Mapping[str, Any], root: Path) -> Sequence[SourceSpec]:
    """The sources of records the plugin brings, with their streams and how to read them.

    :param settings: the plugin's table from sftk.toml, read-only (already validated).
    :param root: the project folder.
    :return: SourceSpec values; stream names are unique within the plugin. Called whenever a
        command lists or syncs streams, so it should not read the source itself: reading
        happens in ``SourceSpec.read``.

    Example::

        @hookimpl
        def sftk_sources(settings, root):
            courses = StreamSpec("courses", "Course__c", key="Catalog_Id__c",
                                 source_key="code", cursor="updated_at")
            return [SourceSpec("lms", (courses,), read=LmsReader(settings).read)]
    """
    raise AssertionError("hookspec body never runs")


@hookspec
def sftk_default_mappings(
    stream: StreamSpec, settings: Mapping[str, Any], root: Path
) -> Sequence[FieldMapping]:
    """The default field mapping of one of the plugin's own streams.

    Called only on the plugin that registered ``stream``, when a sync or ``sftk mappings show``
    needs it. The stream's key (source key -> External ID) and parents are mapped by sftk and
    need no line here. A project overrides any line in ``[mappings.<plugin>.<stream>]``.

    :param stream: the stream, as the plugin's ``sftk_sources`` declared it.
    :param settings: the plugin's table from sftk.toml, read-only.
    :param root: the project folder.
    :return: FieldMapping values, one per Salesforce field written.

    Example::

        @hookimpl
        def sftk_default_mappings(stream):
            if stream.name == "courses":
                return [FieldMapping("Name", source="title", transforms=("trim",))]
            return []
    """
    raise AssertionError("hookspec body never runs")


@hookspec
def sftk_layout_patches(settings: Mapping[str, Any]) -> Sequence[LayoutPatch]:
    """Changes the plugin needs in layouts the org already has, merged into them rather than
    replacing them (a related list on the Contact layout, a button on the Lead layout).

    ``sftk deploy`` and ``sftk plan`` retrieve each target layout from the org, merge the
    patch in (adding what is missing, keeping everything else), and deploy it with the
    package, under the same snapshot, so ``sftk rollback`` restores the layout as it was.

    :param settings: the plugin's table from sftk.toml, read-only.
    :return: LayoutPatch values, declared as data; ``sftk plugins`` lists them.

    Example::

        @hookimpl
        def sftk_layout_patches(settings):
            return [LayoutPatch("Contact-Contact Layout",
                                related_lists=(RelatedListSpec("Appointment__c.Contact__c"),))]
    """
    raise AssertionError("hookspec body never runs")


@hookspec
def sftk_preflight_checks(
    org: OrgAccess, settings: Mapping[str, Any], root: Path
) -> Sequence[CheckResult]:
    """Checks the plugin needs to pass before it syncs into ``org``: the user's permissions,
    the source being reachable, its credentials. A ``fail`` stops the sync before anything is
    written (exit 8), with the check's message and hint.

    :param org: who is connected to which org, and a read-only SOQL ``query``.
    :param settings: the plugin's table from sftk.toml, read-only.
    :param root: the project folder.
    :return: CheckResult values.

    Example::

        @hookimpl
        def sftk_preflight_checks(org, settings):
            ok = bool(org.query("SELECT Id FROM Organization WHERE IsSandbox = false"))
            return [CheckResult("production", "pass" if ok else "warn", "connected")]
    """
    raise AssertionError("hookspec body never runs")


@hookspec
def sftk_sync_started(run: RunInfo) -> None:
    """A sync run is starting (after its preflight passed). Called on every enabled plugin,
    so a plugin may observe other plugins' runs; a failing observer is reported, never fatal.

    :param run: the run's id, org, mode and the plugins it syncs.
    :return: nothing; the return value is ignored.

    Example::

        @hookimpl
        def sftk_sync_started(run):
            log.info("sync %s into %s", run.run_id, run.org)
    """
    raise AssertionError("hookspec body never runs")


@hookspec
def sftk_record_failed(run: RunInfo, failure: RecordFailure) -> None:
    """A record was dead-lettered: Salesforce refused it for good, or it could not be read or
    mapped. Called on every enabled plugin.

    :param run: the run.
    :param failure: plugin, stream, source key, error code, message and fields.
    :return: nothing; the return value is ignored.

    Example::

        @hookimpl
        def sftk_record_failed(run, failure):
            alerts.send(f"{failure.stream} {failure.key}: {failure.code}")
    """
    raise AssertionError("hookspec body never runs")


@hookspec
def sftk_sync_finished(run: RunInfo, report: RunReport) -> None:
    """A sync run ended (completed, stopped by the API guard, or with dead letters). Called on
    every enabled plugin.

    :param run: the run.
    :param report: counts by outcome per stream, API calls by kind, duration and status.
    :return: nothing; the return value is ignored.

    Example::

        @hookimpl
        def sftk_sync_finished(run, report):
            metrics.gauge("sftk.dead_letters", report.total("dead_lettered"))
    """
    raise AssertionError("hookspec body never runs")
