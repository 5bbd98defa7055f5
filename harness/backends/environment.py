"""The environment child processes start with."""

from __future__ import annotations

import os

# Children start with only these variables (as pyperf does). The host's own
# environment can slow node down: NODE_EXTRA_CA_CERTS alone adds ~47 ms to
# every node start here, and containers never see it.
CHILD_ENV_BASE = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


def child_environment(inherit: tuple[str, ...] = ()) -> dict[str, str]:
    env = dict(CHILD_ENV_BASE)
    for name in inherit:
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def describe_child_environment(inherit: tuple[str, ...] = ()) -> dict:
    env = child_environment(inherit)
    dropped = sorted(set(os.environ) - set(env))
    return {"variables": env, "inherited": list(inherit), "dropped_names": dropped}
