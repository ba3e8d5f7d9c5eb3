"""The plugin author's kit: pytest fixtures for a local org and projects syncing into it
(``toolkit.testing.plugin``, loaded by pytest through the ``pytest11`` entry point), the
org and projects themselves (``toolkit.testing.kit``) and the contract suite every source
plugin should pass (``toolkit.testing.contract``). docs/plugin-guide.md shows them at work.

Nothing is imported here, so that pytest loading the plugin in every session of an
environment where sftk is installed costs nothing until a test asks for a fixture.
"""
