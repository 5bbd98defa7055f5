"""Opening and closing a trial inside its worker process: create every
backend of the plan, prepare the ones that can run here (the others are
recorded unavailable, with the reason), and at the end read their facts and
close them."""

from __future__ import annotations

from harness.backends import BackendOptions, create_backend
from harness.backends.base import Backend, BackendError
from harness.measure.injection import CrashingStart, DelayedStart
from harness.measure.pinning import cpuset_string, pin_process
from harness.measure.trial import Trial, TrialSpec
from harness.measure.trial_record import BackendDescription
from harness.runtime.worker import load_worker


def describe(backend: Backend) -> BackendDescription:
    """What the backend says it is, for the run record."""
    try:
        versions = backend.versions()
    except Exception as error:  # a version we cannot read is not a reason to stop
        versions = {"error": (str(error).splitlines() or [""])[0]}
    return BackendDescription.of(backend, versions)


def open_trial(spec: TrialSpec) -> Trial:
    options = spec.options
    worker = load_worker(options.worker)
    if options.pin:
        pin_process(set(options.pin))
    backend_options = BackendOptions(base_image=options.base_image, cpuset=cpuset_string(options.pin),
                                     inherit_env=options.inherit_env, run_id=options.run_id)
    backends, info, unavailable = {}, {}, {}
    for name in spec.backends:
        if name in options.lacking_api:  # the worker needs a global this engine lacks (preflight)
            unavailable[name] = options.lacking_api[name]
            continue
        backend = create_backend(name, backend_options)
        if name in spec.start_delays_ms:  # test-only: recorded in the results as injected
            backend = DelayedStart(backend, spec.start_delays_ms[name], spec.start_delay_kinds.get(name, "busy"))
        if name in spec.crash:  # test-only, likewise
            backend = CrashingStart(backend)
        try:
            availability = backend.availability()
            if availability.available:
                backend.prepare(worker)
        except BackendError as error:
            availability = None
            unavailable[name] = str(error)
        if availability is not None and not availability.available:
            unavailable[name] = availability.reason
        if name in unavailable:
            backend.close()
            continue
        backends[name] = backend
        info[name] = describe(backend)
    return Trial(spec, worker, backends, info, unavailable)


def close_trial(trial: Trial) -> dict:
    """The trial record, after reading each backend's facts and closing it."""
    facts = {}
    for name, backend in trial.backends.items():
        try:
            facts[name] = backend.facts()
        except Exception as error:
            facts[name] = {"error": (str(error).splitlines() or [""])[0]}
        try:
            backend.close()
        except Exception as error:
            trial.fail("close", name, error)
    from harness.suites import SUITES

    for suite in SUITES.values():
        if suite.name in trial.measured:
            try:
                suite.close(trial)
            except Exception as error:  # an analysis failure must not cost the trial's measurements
                trial.suite_errors.append(f"{suite.name}, closing: {error.__class__.__name__}: {error}")
    return trial.to_json(facts)
