"""Builds the WSGI application the web server calls for each request."""
from compute_api import rpc


def init_application(transport_url="amqp://guest:guest@rabbit:5672//"):
    rpc.init(transport_url)

    def app(environ, start_response):
        rpc.cast("compute", {"path": environ.get("PATH_INFO", "/")})
        start_response("202 Accepted", [("Content-Type", "application/json")])
        return [b"{}"]

    return app
