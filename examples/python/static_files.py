"""A tiny static-file responder, in the spirit of the Bottle incident (see docs)."""
import mimetypes
import os


def serve(root, path_info, start_response):
    path = os.path.join(root, path_info.lstrip("/"))
    fh = open(path, "rb")
    size = os.fstat(fh.fileno()).st_size
    if size > 50 * 1024 * 1024:
        start_response("413 Payload Too Large", [])
        return [b""]
    body = fh.read()
    fh.close()
    ctype = mimetypes.guess_type(path)[0] or "application/octet-stream"
    start_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(size))])
    return [body]


def serve_fixed(root, path_info, start_response):
    path = os.path.join(root, path_info.lstrip("/"))
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > 50 * 1024 * 1024:
            start_response("413 Payload Too Large", [])
            return [b""]
        body = fh.read()
    ctype = mimetypes.guess_type(path)[0] or "application/octet-stream"
    start_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(size))])
    return [body]


def read_version(path):
    # Fine on CPython by luck, a leak elsewhere: nothing ever closes this file.
    return open(path).read().strip()
