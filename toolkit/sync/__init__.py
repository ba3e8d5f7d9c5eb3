"""The sync engine: records from source plugins into an org, by External ID, resumably."""
