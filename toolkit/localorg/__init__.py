"""sftk's local org: a Salesforce org on loopback that speaks Salesforce's own wire protocols.

A separate layer: the rest of the toolkit only imports it to start a ``local`` org.
"""
