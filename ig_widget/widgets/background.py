"""Background computations and the end of the interpreter.

A view computes in a daemon thread so that the kernel stays free. When the interpreter exits while such
a thread is inside torch (a script that makes a widget and ends before its map is done), the thread is
stopped mid-call and the C++ runtime aborts the process: "terminate called without an active
exception", exit status 134. Every view's thread is started here instead; at exit `stopping` is set
(a scheduler's computation stops at its next chunk, a comparison after its current method) and each
live thread is joined, for at most `EXIT_WAIT_S` seconds in all.
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

EXIT_WAIT_S = 60.0

stopping = threading.Event()
_threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def start(target: Callable[..., Any], *args: Any) -> threading.Thread:
    """Run `target(*args)` in a daemon thread that the interpreter's exit waits for."""
    thread = threading.Thread(target=target, args=args, daemon=True)
    _threads.add(thread)
    thread.start()
    return thread


@atexit.register
def _finish_at_exit() -> None:
    stopping.set()
    deadline = time.monotonic() + EXIT_WAIT_S
    for thread in list(_threads):
        thread.join(max(0.0, deadline - time.monotonic()))
