"""Child process for first_isolate_probe(): times the first isolate of a fresh
interpreter. Reads {"bundle", "arg"} on stdin and prints phases in ms."""

import json
import sys
import time


def main() -> None:
    request = json.loads(sys.stdin.read())
    started = time.perf_counter_ns()
    from harness.backends.base import PhaseClock
    from harness.backends.isolate import IsolateInstance, _running  # noqa: F401  (imports py_mini_racer)
    import asyncio

    from harness.backends.memory_probes import process_memory
    import os

    import_ms = (time.perf_counter_ns() - started) / 1e6
    before = process_memory(os.getpid())
    clock = PhaseClock()
    instance = IsolateInstance(asyncio.new_event_loop())
    clock.mark("create_isolate")  # includes loading libmini_racer and V8 platform start-up
    instance.load(request["bundle"])
    clock.mark("load_worker")
    answer = instance.call(request["arg"])
    clock.mark("first_call")
    after = process_memory(os.getpid())
    instance.stop()
    print(json.dumps({
        "import_ms": import_ms, "phases_ms": clock.phases, "total_ms": clock.total_ms, "answer": answer,
        "uss_growth_bytes": after.uss - before.uss, "pss_growth_bytes": after.pss - before.pss,
    }))


if __name__ == "__main__":
    main()
