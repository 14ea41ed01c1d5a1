"""Detaching from the terminal without closing descriptors we do not own."""
import os


def detach(workdir="/"):
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.chdir(workdir)
    os.umask(0o022)
    # Only stdio is replaced; descriptors opened by libraries stay valid.
    with open(os.devnull, "r+b") as null:
        for fd in (0, 1, 2):
            os.dup2(null.fileno(), fd)
