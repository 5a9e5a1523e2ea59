"""The two harness helpers tests/, bench/ and loadtest/ all need: a free local port to start a
server on, and a bounded wait for a condition (a server answering, a file a job writes).

They live here, not in dcgan/, because the engine ships to the Space and to teachers as the
thing to read; test plumbing would only be noise there. Standard library only, so anything
in the repo can import it without pulling in torch or a UI.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred: Callable[[], object], timeout: float = 60.0, poll: float = 0.02) -> bool:
    """Call pred until it is truthy (True) or timeout seconds pass (False).

    A bounded wait on a condition the caller can observe, never a sleep that guesses how
    long something takes: it returns as soon as the condition holds.
    """
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)
