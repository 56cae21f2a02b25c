"""Catalog: entries in three tiers, versions, review and merge (CAT-1..CAT-7)."""
