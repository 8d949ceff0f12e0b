"""Ids that must be unique, not secret, made without a system call."""
from __future__ import annotations

import random
import uuid


def random_uuid() -> uuid.UUID:
    """A version-4 UUID from Python's random generator instead of the kernel's.

    uuid4() reads the kernel's random source: a system call, which releases the interpreter lock, and under
    gunicorn's threads each release is a switch to another thread, paid on the acknowledgement's path. Job
    and request ids need uniqueness, not secrecy: the generator's 128 bits are as unlikely to repeat, and it
    is seeded from the kernel in every process (again in every forked child).
    """
    return uuid.UUID(int=random.getrandbits(128), version=4)
