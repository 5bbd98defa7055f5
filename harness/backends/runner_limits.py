"""Limits for instances driven through the node runner's NDJSON protocol.

A call (load, handler call, ping, engine loop) that outlasts
Limits.call_timeout_s raises CallTimeout; an instance that dies during a call
raises what its backend finds out about the death (MemoryLimitExceeded when
the memory limit killed or froze it, InstanceCrashed otherwise). Either way
the instance is stopped first, so the harness never hangs on it again.
"""

from __future__ import annotations

from harness.backends.base import (
    BackendError,
    CallTimeout,
    InstanceCrashed,
    LimitExceeded,
    Limits,
    WorkerLoadError,
)
from harness.backends.ndjson import ChannelClosed, ChannelTimeout, LineChannel, RunnerInstance


class LimitedRunnerInstance(RunnerInstance):
    def __init__(self, channel: LineChannel, timeout: float, limits: Limits | None = None) -> None:
        super().__init__(channel, timeout)
        self.limits = limits or Limits()

    @property
    def call_timeout(self) -> float:
        """Seconds one call may take: the tighter of the call and CPU limits (CPU
        time enforced as wall time, which bounds it), or else the backend's
        safety timeout."""
        given = [s for s in (self.limits.call_timeout_s, self.limits.cpu_time_s) if s is not None]
        return min(given) if given else self.timeout

    def death_cause(self) -> BackendError:
        """Why the instance stopped answering (called before it is stopped)."""
        return InstanceCrashed("the instance exited during the call")

    def limited(self, message: dict) -> dict:
        try:
            return self.request(message, self.call_timeout)
        except ChannelTimeout:
            error: BackendError = CallTimeout(
                f"{message.get('op', 'call')} ran past the {self.call_timeout:g} s call limit; instance stopped")
        except ChannelClosed:
            error = self.death_cause()
        except LimitExceeded as exceeded:  # raised by a channel that watches the limits itself
            error = exceeded
        self.stop()
        raise error

    def load(self, bundle: str, filename: str, cache: str | None = None) -> None:
        """Load the bundle; `cache`: a file of V8 cached data to compile it from (node runners)."""
        message = {"op": "load", "source": bundle, "filename": filename}
        if cache is not None:
            message["cache"] = cache
        try:
            self.limited(message)
        except (LimitExceeded, InstanceCrashed):
            raise
        except BackendError as error:
            raise WorkerLoadError(str(error).replace("runner error: ", "", 1)) from None

    def call(self, arg: str) -> str:
        return self.limited({"op": "call", "arg": arg})["result"]

    def ping(self) -> None:
        self.limited({"op": "ping"})

    def engine_time(self, arg: str, min_ms: float) -> dict:
        return self.limited({"op": "engine", "arg": arg, "min_ms": min_ms})["result"]
