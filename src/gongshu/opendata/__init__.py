"""The open-data portal, its use declarations, applications and agreements,
the CKAN-compatible Action API and the DCAT-AP 3 export (OPN-1..6)."""
