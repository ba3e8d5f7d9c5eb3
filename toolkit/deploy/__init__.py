"""Orchestration of deploys: what sftk decides and reports around the Metadata API's answers."""
