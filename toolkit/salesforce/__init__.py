"""I/O with Salesforce orgs: connections and the Metadata API client. No business rules here:
what a result means for the user is decided in ``toolkit.deploy``."""
