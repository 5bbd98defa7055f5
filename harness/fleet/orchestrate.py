"""The fleet's order of work, independent of Ray (a cluster is anything with
RayCluster's methods, so tests can drive it with a fake):

1. probe every alive node: its name, its boot id, its CPUs;
2. group the nodes by machine (the same boot id): the nodes of one machine
   measure one after the other, each waiting for the one before (`after`),
   different machines at the same time, since each job is exclusive on its
   own machine;
3. each finished job's results file is checked (it must load as a run),
   written atomically to the fleet folder, and the manifest rewritten, so a
   client that stops keeps every node that finished;
4. a node whose job died is recorded as lost with its cause; the others go
   on. `--resume` measures only the nodes that are not measured yet.

Ctrl-C cancels the running jobs (their runs get SIGINT and clean up), marks
those nodes interrupted, saves the manifest and re-raises."""

from __future__ import annotations

import datetime
import re
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Callable

from harness.fleet.manifest import FAILED, INTERRUPTED, LOST, MEASURED, FleetManifest, FleetNode, NodeFacts
from harness.fleet.ray_cluster import ClusterNode, NodeLost
from harness.results.store import ResultsError, load, write_atomic

POLL_S = 5.0


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) + ".json.gz"


def names(nodes: list[ClusterNode], facts: dict[str, NodeFacts]) -> dict[str, str]:
    """A unique name per node id: its label, else its hostname; a repeat gets -2, -3 ... in node-id order."""
    found, used = {}, {}
    for node in nodes:
        base = node.label or facts[node.node_id].hostname or node.address or node.node_id[:12]
        used[base] = used.get(base, 0) + 1
        found[node.node_id] = base if used[base] == 1 else f"{base}-{used[base]}"
    return found


def machines(nodes: list[ClusterNode], facts: dict[str, NodeFacts]) -> list[list[ClusterNode]]:
    """The nodes grouped by physical machine (boot id; a node without one is a machine of its own)."""
    groups: dict[str, list[ClusterNode]] = {}
    for node in nodes:
        groups.setdefault(facts[node.node_id].boot_id or node.node_id, []).append(node)
    return list(groups.values())


def _checked(results_gz: bytes, where: Path) -> str:
    """'' if the bytes are a results file that loads; else why not."""
    with tempfile.TemporaryDirectory(prefix="isobench-fleet-check-") as folder:
        path = Path(folder) / where.name
        path.write_bytes(results_gz)
        try:
            load(path)
        except (ResultsError, OSError, EOFError) as error:
            return f"its results file is unusable: {error}"
    return ""


def finished(node: FleetNode, answer: dict, folder: Path) -> FleetNode:
    """The node's entry once its job answered: measured (its file written) or failed (why)."""
    exit_code, results = answer.get("exit_code"), answer.get("results_gz")
    node = replace(node, exit_code=exit_code, finished=now(),
                   facts=NodeFacts.from_json(answer.get("facts") or node.facts.to_json(), "facts"))
    tail = (answer.get("log_tail") or "").strip().splitlines()
    if not results:
        return replace(node, status=FAILED, cause=f"exit {exit_code}, no results file"
                       + (f": {tail[-1]}" if tail else ""))
    target = folder / file_name(node.name)
    unusable = _checked(results, target)
    if unusable:
        return replace(node, status=FAILED, cause=unusable)
    write_atomic(target, results)
    cause = "" if exit_code == 0 else f"exit {exit_code}" + (": some backends unavailable" if exit_code == 3 else "")
    return replace(node, status=MEASURED, results=target.name, cause=cause)


def run_fleet(cluster, manifest: FleetManifest, folder: Path, setup: bool,
              say: Callable[[str], None] = print, poll_s: float = POLL_S) -> FleetManifest:
    """Measure every alive node that the manifest does not hold as measured; returns the final manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    alive = cluster.nodes()
    if not alive:
        raise NodeLost("the cluster has no alive node")
    probed = cluster.probe(alive)
    for node in alive:
        if not isinstance(probed[node.node_id], NodeFacts):  # recorded, so the exit names it
            entry = FleetNode(name=node.label or node.address or node.node_id[:12], ray_node_id=node.node_id,
                              facts=NodeFacts(hostname="", boot_id="", cpus=node.cpus), status=LOST,
                              cause=f"did not answer the probe: {probed[node.node_id]}", finished=now())
            manifest = manifest.with_node(entry)
            say(f"fleet: {entry.name} {entry.cause}")
    alive = [node for node in alive if isinstance(probed[node.node_id], NodeFacts)]
    facts = {node.node_id: probed[node.node_id] for node in alive}
    named = names(alive, facts)
    todo = [node for node in alive if not (manifest.node(named[node.node_id])
                                           and manifest.node(named[node.node_id]).status == MEASURED)]
    kept = len(alive) - len(todo)
    absent = [n.name for n in manifest.missing if n.name not in named.values()]
    say(f"fleet {manifest.fleet_id}: {len(alive)} node(s) alive, {len(todo)} to measure"
        + (f", {kept} already measured" if kept else "")
        + (f"; not in the cluster now: {', '.join(absent)}" if absent else ""))
    queues = machines(todo, facts)
    running: dict[object, tuple[FleetNode, list[ClusterNode]]] = {}
    total, done = len(todo), 0

    def start_next(queue: list[ClusterNode], after: str = "") -> None:
        nonlocal manifest
        node = queue.pop(0)
        entry = FleetNode(name=named[node.node_id], ray_node_id=node.node_id, facts=facts[node.node_id],
                          status=INTERRUPTED, cause="running", started=now(), after=after)
        manifest = manifest.with_node(entry)
        manifest.save(folder)
        running[cluster.start(node, list(manifest.run_args), setup, manifest.commit)] = (entry, queue)
        shared = f" (after {after}: the same machine)" if after else ""
        say(f"fleet: {entry.name} started{shared} [{done}/{total} done]")

    try:
        for queue in queues:
            start_next(queue)
        while running:
            for job in cluster.wait(list(running), poll_s):
                entry, queue = running.pop(job)
                try:
                    entry = finished(entry, cluster.result(job), folder)
                except NodeLost as lost:
                    entry = replace(entry, status=LOST, cause=str(lost), finished=now())
                done += 1
                manifest = manifest.with_node(entry)
                manifest.save(folder)
                say(f"fleet: {entry.name} {entry.status}" + (f" ({entry.cause})" if entry.cause else "")
                    + f" [{done}/{total} done]")
                if queue:
                    start_next(queue, after=entry.name)
    except KeyboardInterrupt:
        for job, (entry, _) in running.items():
            cluster.cancel(job)
            manifest = manifest.with_node(replace(entry, status=INTERRUPTED, cause="Ctrl-C on the client",
                                                  finished=now()))
        manifest.save(folder)
        raise
    manifest = replace(manifest, finished=now())
    manifest.save(folder)
    return manifest
