"""A backend added the way the registry says: this one module, plus one line
in REGISTRY (the test adds it). Its instances are Python objects that answer
like the hello worker."""

from harness.backends.base import Availability, Backend, Instance, MemoryFigure, PhaseClock


class ToyInstance(Instance):
    def call(self, arg: str) -> str:
        return f"Hello {arg}!"

    def ping(self) -> None:
        pass

    def engine_time(self, arg: str, min_ms: float) -> dict:
        return {"handler_ns": 50.0, "loop_ns": 5.0, "calls": 1000, "clock": "performance.now",
                "clock_resolution_ns": 1000.0}

    def _release(self) -> None:
        pass


class ToyBackend(Backend):
    name = "toy"
    summary = "a Python object per instance"
    described_as = "a toy object"
    family = "in-process"
    instance_class = "in-process"
    concurrency_modes = ("per-caller",)

    def availability(self) -> Availability:
        return Availability(True)

    def start(self, worker, clock: PhaseClock) -> Instance:
        instance = ToyInstance()
        instance.track(self.live)
        clock.mark("create")
        return instance

    def memory(self, instances) -> list[MemoryFigure]:
        return [MemoryFigure("uss", 1024.0 * len(instances), "toy objects")]

    def versions(self) -> dict[str, str]:
        return {"toy": "1"}
