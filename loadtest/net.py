"""The harness helpers tests/, bench/ and loadtest/ all need: a free local port to start a
server on, a bounded wait for a condition (a file a job writes, a page's state) that raises
with the condition's name when it never holds, and that wait for a server to answer.

They live here, not in dcgan/, because the engine ships to the Space and to teachers as the
thing to read; test plumbing would only be noise there. Standard library only, so anything
in the repo can import it without pulling in torch or a UI.
"""

from __future__ import annotations

import inspect
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred: Callable[[], T], timeout: float = 60.0, what: str = "", poll: float = 0.02) -> T:
    """Call pred until it returns something truthy, and return that; after timeout seconds
    raise TimeoutError naming what it waited for (`what`, else pred's source line).

    A bounded wait on a condition the caller can observe, never a sleep that guesses how
    long something takes: it returns as soon as the condition holds, and a timeout says which
    condition never held instead of surfacing later as a confusing assert.
    """
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what or _name(pred)}")
        time.sleep(poll)


def _name(pred: Callable) -> str:
    """A condition's source text (a lambda's line), else its repr."""
    try:
        return inspect.getsource(pred).strip()[:200]
    except (OSError, TypeError):
        return repr(pred)


def wait_http(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    """Wait until url answers 200; if the server exits first or never answers, raise
    RuntimeError saying which, with the tail of its log."""

    def answered() -> bool | str:
        if proc.poll() is not None:
            return "exited"  # truthy: the wait ends, and the server is not coming
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.status == 200
        except OSError:
            return False

    try:
        if wait_for(answered, timeout, f"{url} to answer", poll=0.5) is True:
            return
        why = f"the server exited with code {proc.returncode} before {url} answered"
    except TimeoutError as e:
        why = str(e)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise RuntimeError(f"{why}; its log ends:\n{tail}")
