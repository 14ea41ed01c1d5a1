"""The deployed application: a site with its static assets served by a mounted Shelf.

uWSGI: `uwsgi --http :8080 --wsgi-file portal.py` (the server provides wsgi.file_wrapper).
"""
import os

from shelf import Response, Shelf

ASSETS_DIR = os.path.join(os.path.dirname(__file__), "assets")

assets = Shelf()


@assets.route("/logo.png")
def logo(environ):
    # The open file is handed to the framework, which passes it to wsgi.file_wrapper.
    return open(os.path.join(ASSETS_DIR, "logo.png"), "rb")


site = Shelf()


@site.route("/")
def home(environ):
    return Response(b"<img src='/assets/logo.png'>", headers=[("Content-Type", "text/html")])


site.mount("/assets", assets)

application = site
