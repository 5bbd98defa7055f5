"""Cold start: from asking for a fresh instance to the first handler answer
received by the harness. One fresh instance per pedantic round; warmup rounds
are discarded; instances are stopped outside the timed region."""

from harness.backends.isolate import first_isolate_probe
from harness.measure.procedures import ARG, cold_start
from harness.measure.progress import steps


def test_cold_start(benchmark, backend, worker, profile):
    benchmark.group = "cold_start"
    live, rounds_started = [], [0]
    # Filled in place, so that an interrupted run still saves what it measured.
    phases: dict[str, list[float]] = {}
    answers: list = []
    benchmark.extra_info.update({
        "metric": "cold_start",
        "backend": backend.name,
        "unit": "s",
        "timer": "time.perf_counter around backend.start(worker) + first call; stop excluded",
        "warmup_rounds_discarded": profile.cold_warmups,
        "phases_ms": phases,
        "answers": answers,
    })

    def start_and_first_call():
        instance, instance_phases, answer = cold_start(backend, worker, ARG)
        live.append(instance)
        rounds_started[0] += 1
        if rounds_started[0] > profile.cold_warmups:
            for name, value in instance_phases.items():
                phases.setdefault(name, []).append(value)
            if answer not in answers:
                answers.append(answer)

    with steps(f"cold start {backend.name}", profile.cold_warmups + profile.cold_rounds) as advance:
        def stop_instance():
            live.pop().stop()
            advance()

        benchmark.pedantic(start_and_first_call, teardown=stop_instance,
                           rounds=profile.cold_rounds, warmup_rounds=profile.cold_warmups)

    benchmark.extra_info["answer"] = answers[0] if len(answers) == 1 else answers
    facts = backend.facts()
    if facts:
        benchmark.extra_info["backend_facts"] = facts
    if backend.name == "isolate":
        benchmark.extra_info["first_isolate"] = _first_isolates(worker, profile.first_isolate_rounds)


def _first_isolates(worker, rounds):
    """The first isolate of a fresh Python process pays for loading
    libmini_racer and starting V8's platform; sampled in fresh interpreters."""
    samples = []
    with steps("first isolate per process", rounds) as advance:
        for _ in range(rounds):
            samples.append(first_isolate_probe(worker, ARG))
            advance()
    return {
        "timer": "inside a fresh interpreter: MiniRacer() request -> first answer (import excluded)",
        "total_ms": [s["total_ms"] for s in samples],
        "import_ms": [s["import_ms"] for s in samples],
        "uss_growth_bytes": [s["uss_growth_bytes"] for s in samples],
        "pss_growth_bytes": [s["pss_growth_bytes"] for s in samples],
        "phases_ms": {name: [s["phases_ms"][name] for s in samples] for name in samples[0]["phases_ms"]},
    }
