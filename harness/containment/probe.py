"""The host of one hostile worker: `python -m harness.containment.probe`.

Reads a request (JSON) on stdin, hosts the worker on one backend as the
harness would, and reports each step as a JSON line on its own copy of
stdout (whatever a backend prints goes to stderr). It is a separate process
because an in-process backend's worker can take its host down with it: the
parent (host.py) watches it from outside.

Events: prepared, calling (just before the hostile call), outcome, next
(a fresh hello instance on the same backend afterwards), done; or
unavailable / error.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from pathlib import Path

_events = None


def emit(event: str, **fields) -> None:
    _events.write(json.dumps({"event": event, **fields}) + "\n")
    _events.flush()


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


def _error(error: BaseException) -> dict:
    from harness.backends.base import InstanceCrashed, LimitExceeded

    return {"error_type": type(error).__name__, "message": str(error).split("\n")[0][:500],
            "typed": isinstance(error, (LimitExceeded, InstanceCrashed))}


def hostile_call(backend, worker, arg: str) -> dict:
    """Start the worker, call it once, stop it. Times from the call's start:
    detect_ms when the harness has the answer or the error, stop_ms when the
    instance is gone."""
    from harness.backends.base import BackendError, PhaseClock

    instance = backend.start(worker, PhaseClock())
    emit("calling")
    started = time.perf_counter()
    outcome: dict = {}
    try:
        answer = instance.call(arg)
        outcome = {"kind": "answer", "answer": str(answer)[:20000]}
    except BackendError as error:
        outcome = {"kind": "error", **_error(error)}
    outcome["detect_ms"] = _ms(started)
    instance.stop()
    outcome["stop_ms"] = _ms(started)
    return outcome


def neighbour(backend, worker) -> dict:
    """A victim keeps a token; an attacker on the same backend looks for it."""
    from harness.backends.base import PhaseClock

    token = "isobench-nbr-" + secrets.token_hex(16)
    victim = backend.start(worker, PhaseClock())
    attacker = None
    try:
        planted = json.loads(victim.call(json.dumps({"op": "plant", "token": token})))
        attacker = backend.start(worker, PhaseClock())
        emit("calling")
        started = time.perf_counter()
        probe = json.loads(attacker.call(json.dumps({"op": "probe"})))
        detect_ms = _ms(started)
        check = json.loads(victim.call(json.dumps({"op": "check"})))
    finally:
        for instance in (attacker, victim):
            if instance is not None:
                instance.stop()
        for folder in ("/tmp", "/"):  # the victim's file, where it shares the host's file system
            Path(folder, token + ".txt").unlink(missing_ok=True)
    return {"kind": "answer", "token": token, "plant": planted, "probe": probe, "check": check,
            "detect_ms": detect_ms, "stop_ms": _ms(started)}


def next_instance(backend, hello) -> dict:
    from harness.backends.base import BackendError
    from harness.procedures.instances import cold_start

    started = time.perf_counter()
    try:
        instance, _, answer = cold_start(backend, hello)
        instance.stop()
    except BackendError as error:
        return {"ok": False, **_error(error), "ms": _ms(started)}
    return {"ok": answer == "Hello World!", "answer": str(answer)[:200], "ms": _ms(started)}


def main() -> int:
    global _events
    _events = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything else printed goes to stderr
    sys.stdout = sys.stderr
    request = json.loads(sys.stdin.read())

    from harness.backends import BackendOptions, create_backend
    from harness.backends.base import BackendError, Limits
    from harness.runtime.worker import load_worker

    options = BackendOptions(**{k: tuple(v) if k == "inherit_env" else v for k, v in request["options"].items()},
                             limits=Limits(**request["limits"]))
    backend = create_backend(request["backend"], options)
    try:
        availability = backend.availability()
        if not availability.available:
            emit("unavailable", reason=availability.reason)
            return 0
        hello = load_worker(request["hello_path"])
        worker = load_worker(request["worker_path"])
        try:
            backend.prepare(hello)
        except BackendError as error:
            emit("unavailable", reason=str(error))
            return 0
        emit("prepared", facts=_facts(backend))
        try:
            if request["workload"] == "neighbour":
                outcome = neighbour(backend, worker)
            else:
                outcome = hostile_call(backend, worker, request.get("arg", "World"))
        except BackendError as error:  # the harness's own steps failed, not the hostile call
            emit("error", where="setup", **_error(error))
            return 0
        emit("outcome", **outcome)
        emit("next", **next_instance(backend, hello))
    finally:
        backend.close()
    emit("done")
    return 0


def _facts(backend) -> dict:
    try:
        return backend.facts()
    except Exception as error:  # informative only
        return {"error": str(error).split("\n")[0]}


if __name__ == "__main__":
    sys.exit(main())
