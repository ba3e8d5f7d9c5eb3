"""sftk: Salesforce metadata from templates, deploys you can undo, and sync plugins."""

__version__ = "0.1.0"
