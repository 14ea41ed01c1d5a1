"""Thumbnail rendering in a pool of worker processes."""
import logging
import multiprocessing

log = logging.getLogger("thumbs.render")


def _render_one(path):
    log.info("rendering %s", path)
    return path + ".thumb.png"


def render_all(paths):
    # forkserver: workers start from a clean single-threaded server, not from this process.
    ctx = multiprocessing.get_context("forkserver")
    with ctx.Pool(processes=4) as pool:
        return pool.map(_render_one, paths)
