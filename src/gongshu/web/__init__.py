"""The web layer: the FastAPI app factory, request dependencies, rendering."""

from gongshu.web.app import create_app

__all__ = ["create_app"]
