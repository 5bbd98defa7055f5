"""Warm calls on one live instance: end to end through the backend's
transport (calibrated pytest-benchmark rounds), the transport alone (a ping
that does not run the handler), and the handler's in-engine time by a JS clock."""

from harness.measure.procedures import ARG, cold_start, engine_samples


def test_warm_call(benchmark, backend, worker, profile):
    benchmark.group = "warm_call"
    instance, _, answer = cold_start(backend, worker, ARG)
    try:
        result = benchmark(instance.call, ARG)
        engine_ns, last = engine_samples(instance, profile.engine_repeats, profile.engine_min_ms)
    finally:
        instance.stop()
    assert result == answer
    benchmark.extra_info.update({
        "metric": "warm_call",
        "backend": backend.name,
        "unit": "s",
        "timer": "time.perf_counter around instance.call(arg): request out, answer in",
        "answer": result,
        "engine_ns_per_call": engine_ns,
        "engine_clock": instance_clock(last),
        "engine_method": "handler called in a JS loop until the loop lasts >= "
                         f"{profile.engine_min_ms} ms on the engine clock; ns per call = loop time / calls",
    })


def test_transport(benchmark, backend, worker, profile):
    benchmark.group = "transport"
    instance, _, _ = cold_start(backend, worker, ARG)
    try:
        benchmark(instance.ping)
    finally:
        instance.stop()
    benchmark.extra_info.update({
        "metric": "transport",
        "backend": backend.name,
        "unit": "s",
        "timer": "time.perf_counter around one round trip that does not call the handler",
        "transport": backend.transport(),
    })


def instance_clock(last: dict) -> str:
    return last.get("clock", "performance.now or Date.now (see harness/runtime/prelude.js)")
