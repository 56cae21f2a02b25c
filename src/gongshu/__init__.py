"""Gongshu (公数): a province's unified public data platform."""

__version__ = "0.1.0"
