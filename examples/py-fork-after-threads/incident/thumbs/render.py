"""Thumbnail rendering in a pool of worker processes."""
import logging
import multiprocessing

log = logging.getLogger("thumbs.render")


def _render_one(path):
    log.info("rendering %s", path)  # may block for ever if the fork copied a held lock
    return path + ".thumb.png"


def render_all(paths):
    # Linux default start method before Python 3.14: fork, with the heartbeat thread running.
    with multiprocessing.Pool(processes=4) as pool:
        return pool.map(_render_one, paths)
