"""Accounts: tiered regions, organizations, users, roles, sessions and API tokens (SEC-3)."""
