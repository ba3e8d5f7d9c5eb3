"""Layout patches meet the org: the layouts a package's patches target are retrieved, the
patches merged into them, and the patched layouts join the package, so that the plan, the
snapshot, the deploy and a rollback treat them as any other component.

A layout the package itself carries (a ``[layouts]`` spec) is patched as written, without
asking the org. The package keeps its identity (the hash the promotion ledger knows), which
covers the patches as data: the same project patches a sandbox's layout and production's,
each as that org has it.
"""

from __future__ import annotations

from toolkit.deploy.package import DeployPackage
from toolkit.deploy.retrieval import Retriever
from toolkit.errors import ConfigError
from toolkit.metadata import formats, layout_patches, manifest
from toolkit.metadata.files import MetadataFile
from toolkit.metadata.manifest import ComponentRef
from toolkit.metadata.types import MANIFEST_NAMES

LAYOUT = "Layout"


def _layouts(files: tuple[MetadataFile, ...] | list[MetadataFile]) -> dict[str, MetadataFile]:
    """Layout files by full name."""
    found = {}
    for file in files:
        if file.path in MANIFEST_NAMES:
            continue
        entry = formats.parse_mdapi_path(file)
        if entry.type.name == LAYOUT and not entry.is_meta:
            found[entry.name] = file
    return found


def patched(retriever: Retriever, package: DeployPackage) -> DeployPackage:
    """The package with its layout patches merged into the layouts they target (retrieved
    from the org unless the package has them). Raises ConfigError for a layout neither has."""
    if not package.patches:
        return package
    own = _layouts(package.files)
    wanted = [
        ComponentRef(LAYOUT, name)
        for name in layout_patches.targets(package.patches)
        if name not in own
    ]
    org = _layouts(list(retriever.components(wanted).files)) if wanted else {}
    layouts = {**org, **own}
    for patch in package.patches:
        current = layouts.get(patch.layout)
        if current is None:
            raise ConfigError(
                f"{patch.source or 'a layout patch'}: the org has no layout {patch.layout} "
                "to patch",
                hint="name a layout the org has (sftk retrieve --types Layout lists them), or "
                "declare the whole layout under [layouts] to create it",
            )
        where = f"{patch.layout} (patched by {patch.source or 'a layout patch'})"
        content = layout_patches.apply(current.content, patch, where)
        layouts[patch.layout] = MetadataFile(current.path, content, where)
    changed = {file.path for file in layouts.values()}
    files = [f for f in package.files if f.path not in changed and f.path != "package.xml"]
    files += layouts.values()
    refs = manifest.components_of(files)
    files.append(MetadataFile("package.xml", manifest.package_xml(refs, package.api_version)))
    return DeployPackage(
        tuple(sorted(files, key=lambda f: f.path)), package.origin, part_of=package.identity
    )
