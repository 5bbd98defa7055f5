"""Wait for file descriptors to become readable, with poll(2): select(2)
fails on descriptor numbers past 1023, which a density sweep of hundreds of
processes reaches."""

from __future__ import annotations

import math
import select
from typing import Iterable


def readable(fds: Iterable[int], timeout: float | None) -> list[int]:
    """Those of fds that can be read (data, end of file or an error) within
    timeout seconds; None waits for ever."""
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN | select.POLLPRI)
    wait_ms = None if timeout is None else max(0, math.ceil(timeout * 1000))
    return [fd for fd, _ in poller.poll(wait_ms)]
