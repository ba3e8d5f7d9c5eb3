"""THE plugin contract: every hook a plugin may implement, documented top to bottom.

A plugin is a module or object registered under the entry-point group ``sftk.plugins``; the
entry point's name is the plugin's name, the one a project lists in ``[plugins] enabled``.
Implement hooks with the ``hookimpl`` marker. Hooks return typed, frozen dataclasses from
``toolkit.metadata.specs``, never loose dicts. More hooks (sources, streams, mappings, checks)
arrive with the sync engine; ``PLUGIN_API_VERSION`` changes when a hook's meaning changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pluggy

from toolkit.metadata.specs import ObjectSpec, PermissionSetSpec

PROJECT_NAME = "sftk"
ENTRY_POINT_GROUP = "sftk.plugins"
PLUGIN_API_VERSION = 1

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
