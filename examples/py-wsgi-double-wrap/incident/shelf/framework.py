"""The framework core: routing, mounting and turning handler results into WSGI responses."""


class Response:
    """A status, headers and a body (bytes, an iterable, or a file-like object)."""

    def __init__(self, body=b"", status="200 OK", headers=None):
        self.body = body
        self.status = status
        self.headers = list(headers or [])


class Shelf:
    def __init__(self):
        self.routes = {}

    def route(self, path):
        def register(handler):
            self.routes[path] = handler
            return handler

        return register

    def mount(self, prefix, app):
        """Serve every path under `prefix` from another WSGI application."""

        def mountpoint(environ):
            sent = Response()

            def start_response(status, headers, exc_info=None):
                sent.status = status
                sent.headers = list(headers)

            environ["SCRIPT_NAME"] += prefix
            environ["PATH_INFO"] = environ["PATH_INFO"][len(prefix):]
            body = app(environ, start_response)
            sent.body = body
            return sent

        self.routes[prefix] = mountpoint

    def _handle(self, environ):
        path = environ["PATH_INFO"]
        for prefix, handler in self.routes.items():
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return handler(environ)
        return Response(b"not found", "404 Not Found")

    def _cast(self, out, environ):
        """Turn what a handler returned into a WSGI response iterable."""
        if isinstance(out, Response):
            environ["shelf.status"] = out.status
            environ["shelf.headers"] = out.headers
            return self._cast(out.body, environ)
        if isinstance(out, bytes):
            return [out]
        # File-like objects go to the server's file wrapper (sendfile and friends). The
        # response of a mounted Shelf has been through here once already, and a server's
        # wrapper may hand back the file object itself: it still has .read().
        if hasattr(out, "read") and "wsgi.file_wrapper" in environ:
            return environ["wsgi.file_wrapper"](out)
        return out

    def __call__(self, environ, start_response):
        environ.setdefault("shelf.status", "200 OK")
        environ.setdefault("shelf.headers", [])
        out = self._cast(self._handle(environ), environ)
        start_response(environ["shelf.status"], environ["shelf.headers"])
        return out
