"""Reports liveness every few seconds from a background thread started at import."""
import logging
import threading
import time

log = logging.getLogger("thumbs.heartbeat")


def _beat():
    while True:
        # Holds the logging module's locks for a moment, many times a minute.
        log.info("alive")
        time.sleep(5)


_thread = threading.Thread(target=_beat, name="heartbeat", daemon=True)
_thread.start()
