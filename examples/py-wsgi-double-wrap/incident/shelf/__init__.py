"""shelf: a tiny WSGI micro-framework (routes, mounted sub-applications, file responses)."""
from shelf.framework import Response, Shelf

__all__ = ["Response", "Shelf"]
