"""Authorized operation (授权运营): agreements, the sandbox, product entries, disclosure."""
