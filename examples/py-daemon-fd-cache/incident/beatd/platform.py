"""Detaching from the terminal, the traditional way."""
import os

MAXFD = 65536


def detach(workdir="/"):
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.chdir(workdir)
    os.umask(0o022)
    # "Close every inherited descriptor": also closes the ones libraries cached.
    os.closerange(3, MAXFD)
    with open(os.devnull, "r+b") as null:
        for fd in (0, 1, 2):
            os.dup2(null.fileno(), fd)
