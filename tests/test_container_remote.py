"""A Docker engine on another machine (DOCKER_HOST / a context): its
containers' PIDs mean nothing in the local /proc, so the memory figures that
read it are left out, with a note, instead of measuring some local process."""

import os
from types import SimpleNamespace

from harness.backends.container import ContainerBackend

MIB = 1 << 20


def test_remote_engine_gives_docker_stats_only(monkeypatch):
    notes = []
    backend = ContainerBackend(log=notes.append)
    # The remote container's PID happens to be a live local process (this one).
    remote = SimpleNamespace(container=SimpleNamespace(id="f" * 64), pid=os.getpid())
    monkeypatch.setattr(ContainerBackend, "_docker_stats_bytes", staticmethod(lambda instance: 5 * MIB))
    figures = backend.memory([remote, remote])
    assert [(f.kind, f.bytes) for f in figures] == [("docker_stats", 10 * MIB)]
    assert "remote" in figures[0].scope
    backend.memory([remote])
    assert len(notes) == 1 and "not on this machine" in notes[0]
