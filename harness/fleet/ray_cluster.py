"""The fleet's only contact with Ray: list the alive nodes, run the probe
and the measurement on one given node (a hard node-affinity strategy, and
every CPU of that node reserved, so nothing else of ours runs there), wait,
and cancel. Everything else (order, exclusivity per machine, the manifest)
is harness/fleet/orchestrate.py, which tests drive with a fake cluster too.

Ray is optional (`pip install .[fleet]`); it is imported only here."""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import UsageError, one_line
from harness.fleet.manifest import NodeFacts
from harness.paths import REPO_ROOT

NODE_LABEL = "isobench-node"  # a Ray node label that names the node in the fleet
EXCLUDES = ["/.git/", "/.tox/", "/.venv/", "/results/", "/report/", "/*.whl", "**/node_modules/", "**/__pycache__/"]  # gitignore syntax, from the top


@dataclass(frozen=True)
class ClusterNode:
    node_id: str
    address: str
    cpus: int
    label: str = ""  # its NODE_LABEL, if it has one


class NodeLost(Exception):
    """The node, or the job on it, died before it answered."""


def import_ray():
    try:
        import ray
    except ImportError:
        raise UsageError("the fleet needs Ray, which is not installed: pip install '.[fleet]' "
                         "(or pip install -r requirements-fleet.txt)") from None
    return ray


class RayCluster:
    def __init__(self, address: str, env: dict[str, str] | None = None) -> None:
        ray = self._ray = import_ray()
        try:
            ray.init(address=address, log_to_driver=False, logging_level="ERROR",
                     runtime_env={"working_dir": str(REPO_ROOT), "excludes": EXCLUDES, "env_vars": env or {}})
        except Exception as error:  # Ray raises ConnectionError, RuntimeError, ValueError ...
            raise UsageError(f"cannot join the Ray cluster at {address}: {one_line(error)}") from None
        from harness.fleet import node as node_job

        self._probe = ray.remote(num_cpus=0, max_retries=0)(node_job.probe)
        self._measure = ray.remote(max_retries=0)(node_job.measure)

    def _on(self, node: ClusterNode, **resources):
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        return dict(scheduling_strategy=NodeAffinitySchedulingStrategy(node.node_id, soft=False), **resources)

    def nodes(self) -> list[ClusterNode]:
        found = []
        for raw in self._ray.nodes():
            if raw.get("Alive"):
                found.append(ClusterNode(node_id=raw["NodeID"], address=raw.get("NodeManagerAddress", ""),
                                         cpus=int(raw.get("Resources", {}).get("CPU", 0)),
                                         label=(raw.get("Labels") or {}).get(NODE_LABEL, "")))
        return sorted(found, key=lambda n: n.node_id)

    def probe(self, nodes: list[ClusterNode], timeout_s: float = 120.0) -> dict[str, NodeFacts | str]:
        """Each node's facts, or why it did not answer."""
        refs = {node.node_id: self._probe.options(**self._on(node)).remote() for node in nodes}
        found: dict[str, NodeFacts | str] = {}
        for node_id, ref in refs.items():
            try:
                found[node_id] = NodeFacts.from_json(self._ray.get(ref, timeout=timeout_s), "probe")
            except Exception as error:
                found[node_id] = one_line(error)
                self._ray.cancel(ref, force=True)
        return found

    def start(self, node: ClusterNode, run_args: list[str], setup: bool, commit: str | None):
        """The measurement on `node`, with every CPU of the node reserved; returns a handle for wait."""
        return self._measure.options(**self._on(node, num_cpus=max(node.cpus, 1))).remote(run_args, setup, commit)

    def wait(self, jobs: list, timeout_s: float) -> list:
        done, _ = self._ray.wait(jobs, num_returns=1, timeout=timeout_s)
        return done

    def result(self, job) -> dict:
        ray = self._ray
        try:
            return ray.get(job)
        except (ray.exceptions.NodeDiedError, ray.exceptions.WorkerCrashedError, ray.exceptions.TaskCancelledError,
                ray.exceptions.ObjectLostError, ray.exceptions.RaySystemError) as error:
            raise NodeLost(one_line(error)) from None
        except ray.exceptions.RayTaskError as error:  # the job itself raised
            raise NodeLost(f"the job raised: {one_line(error.cause if error.cause else error)}") from None
        except ray.exceptions.RayError as error:  # e.g. unschedulable: its node left after the probe
            raise NodeLost(one_line(error)) from None

    def cancel(self, job) -> None:
        self._ray.cancel(job, force=True)

    def close(self) -> None:
        self._ray.shutdown()
