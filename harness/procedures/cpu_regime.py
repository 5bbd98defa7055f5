"""CPU regimes: the state of the machine's idle CPUs while a block is timed.

- **idle**: as the machine is. An idle CPU enters the idle states its cpuidle
  governor picks; on a Firecracker guest with `haltpoll` and
  `guest_halt_poll_ns=0` it halts at once and exits to the hypervisor, and
  waking it (a reply arriving on a pipe, a thread being signalled) comes back
  through the hypervisor.
- **awake**: a PM QoS request holds `/dev/cpu_dma_latency` at 0 µs for the
  block. No idle state with a non-zero exit latency may be entered, so an idle
  CPU polls instead of halting (the lever cyclictest uses). The request lasts
  while the file stays open and is released when it is closed.

A platform under steady load sees something near the awake regime (its CPUs
rarely go idle between requests); a quiet host sees the idle one.
"""

from __future__ import annotations

import os
import struct
from contextlib import contextmanager
from pathlib import Path

PM_QOS_DEVICE = Path("/dev/cpu_dma_latency")
IDLE, AWAKE = "idle", "awake"


class AwakeLever:
    """Holds the CPUs awake (PM QoS at 0 µs) inside `awake()`; `reason` says
    why it cannot, and then `awake()` refuses (callers check `available`)."""

    def __init__(self, device: Path | None = None) -> None:
        self.device = device or PM_QOS_DEVICE
        self.reason = self._probe()

    @property
    def available(self) -> bool:
        return self.reason is None

    def _probe(self) -> str | None:
        try:
            fd = os.open(self.device, os.O_WRONLY)
        except OSError as error:
            return f"{self.device}: {error.strerror or error}"
        try:
            os.write(fd, struct.pack("i", 0))
        except OSError as error:
            return f"{self.device}: writing a request failed: {error.strerror or error}"
        finally:
            os.close(fd)
        return None

    def describe(self) -> str:
        if self.reason:
            return f"unavailable: {self.reason}"
        return f"PM QoS: {self.device} held at 0 µs for each block, released after it"

    @contextmanager
    def awake(self):
        if self.reason:
            raise RuntimeError(f"cannot hold the CPUs awake: {self.reason}")
        fd = os.open(self.device, os.O_WRONLY)
        try:
            os.write(fd, struct.pack("i", 0))
            yield
        finally:
            os.close(fd)


@contextmanager
def regime(name: str, lever: AwakeLever):
    """Time the block in this regime: as the machine is (idle), or held awake."""
    if name == IDLE:
        yield
    elif name == AWAKE:
        with lever.awake():
            yield
    else:
        raise ValueError(f"unknown CPU regime {name!r}")


def regimes_here(wanted: tuple[str, ...], lever: AwakeLever) -> tuple[str, ...]:
    """The wanted regimes this machine can give (awake needs the lever)."""
    return tuple(r for r in wanted if r != AWAKE or lever.available)
