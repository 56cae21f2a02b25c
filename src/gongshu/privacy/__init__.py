"""Personal information: consent records and rights requests (PIP-1 to PIP-6, SEC-7)."""
