"""Task ids from /dev/urandom.

Like libuuid 2.20, the descriptor is opened once and cached for the life of the process,
and never checked again.
"""
import os

_urandom_fd = os.open("/dev/urandom", os.O_RDONLY | os.O_CLOEXEC)


def new_id():
    return os.read(_urandom_fd, 16).hex()
