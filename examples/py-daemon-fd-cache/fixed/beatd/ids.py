"""Task ids from /dev/urandom.

The cached descriptor is re-validated before each use, the way CPython's os.urandom does:
if the number no longer names the same file (st_dev/st_ino), it is opened again.
"""
import os

_urandom_fd = os.open("/dev/urandom", os.O_RDONLY | os.O_CLOEXEC)
_identity = os.fstat(_urandom_fd)


def _descriptor():
    global _urandom_fd, _identity
    try:
        st = os.fstat(_urandom_fd)
        same = (st.st_dev, st.st_ino) == (_identity.st_dev, _identity.st_ino)
    except OSError:
        same = False
    if not same:
        _urandom_fd = os.open("/dev/urandom", os.O_RDONLY | os.O_CLOEXEC)
        _identity = os.fstat(_urandom_fd)
    return _urandom_fd


def new_id():
    return os.read(_descriptor(), 16).hex()
