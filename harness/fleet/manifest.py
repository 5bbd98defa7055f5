"""A fleet's manifest: which nodes were measured, at which commit, and how
each one ended. It lives beside the nodes' results files in
results/fleet/<fleet-id>/manifest.json and is rewritten atomically after
every node, so a fleet that is interrupted keeps what it has (`--resume`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from harness.results.fields import Fields
from harness.results.schema import ResultsError
from harness.results.store import write_atomic

FLEET_SCHEMA = "isobench-fleet/1"
MANIFEST = "manifest.json"

MEASURED = "measured"  # its results file is in the folder
FAILED = "failed"  # the run on the node exited without a results file (bad input, no backend)
LOST = "lost"  # the node or its job died mid-run (Ray lost it, or it was killed)
INTERRUPTED = "interrupted"  # Ctrl-C on the client while it ran
STATUSES = (MEASURED, FAILED, LOST, INTERRUPTED)


@dataclass(frozen=True)
class NodeFacts:
    """What a node says about itself before it measures (harness/fleet/node.py probe)."""

    hostname: str
    boot_id: str  # /proc/sys/kernel/random/boot_id: two Ray nodes with the same one share a machine
    cpus: int
    kernel: str = ""
    cpu_model: str = ""
    memory_total_bytes: int | None = None

    def to_json(self) -> dict:
        return {"hostname": self.hostname, "boot_id": self.boot_id, "cpus": self.cpus, "kernel": self.kernel,
                "cpu_model": self.cpu_model, "memory_total_bytes": self.memory_total_bytes}

    @staticmethod
    def from_json(raw: object, where: str) -> NodeFacts:
        f = Fields(raw, where)
        return NodeFacts(hostname=f.str("hostname"), boot_id=f.str("boot_id"), cpus=f.int("cpus", 0),
                         kernel=f.str("kernel"), cpu_model=f.str("cpu_model"),
                         memory_total_bytes=f.int("memory_total_bytes", None))


@dataclass(frozen=True)
class FleetNode:
    """One node of the fleet and how its job ended."""

    name: str  # unique in the fleet: the node's `isobench-node` label, else its hostname
    ray_node_id: str
    facts: NodeFacts
    status: str
    cause: str = ""  # why it is not measured, one line
    results: str = ""  # the results file, relative to the fleet folder
    exit_code: int | None = None  # of `python -m harness run` on the node
    started: str = ""
    finished: str = ""
    after: str = ""  # the node it waited for: the same machine, measured one after the other

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown fleet node status {self.status!r}; one of {', '.join(STATUSES)}")
        if self.status == MEASURED and not self.results:
            raise ValueError(f"fleet node {self.name}: measured, but no results file")

    def to_json(self) -> dict:
        return {"name": self.name, "ray_node_id": self.ray_node_id, "facts": self.facts.to_json(),
                "status": self.status, "cause": self.cause, "results": self.results, "exit_code": self.exit_code,
                "started": self.started, "finished": self.finished, "after": self.after}

    @staticmethod
    def from_json(raw: object, where: str) -> FleetNode:
        f = Fields(raw, where)
        try:
            return FleetNode(name=f.str("name", required=True), ray_node_id=f.str("ray_node_id"),
                             facts=NodeFacts.from_json(f.dict("facts"), f"{where}.facts"),
                             status=f.str("status", required=True), cause=f.str("cause"), results=f.str("results"),
                             exit_code=f.int("exit_code", None), started=f.str("started"),
                             finished=f.str("finished"), after=f.str("after"))
        except ValueError as error:
            raise ResultsError(f"{where}: {error}") from None


@dataclass(frozen=True)
class FleetManifest:
    fleet_id: str
    commit: str | None  # the client's checkout, shipped to every node
    dirty: bool
    address: str
    run_args: tuple[str, ...]  # what `python -m harness run` got on every node
    started: str
    nodes: tuple[FleetNode, ...] = ()
    finished: str = ""
    schema: str = FLEET_SCHEMA

    def node(self, name: str) -> FleetNode | None:
        return next((n for n in self.nodes if n.name == name), None)

    def with_node(self, node: FleetNode) -> FleetManifest:
        """This manifest with `node` in place of the node of that name (or added)."""
        kept = tuple(n for n in self.nodes if n.name != node.name)
        return replace(self, nodes=tuple(sorted((*kept, node), key=lambda n: n.name)))

    @property
    def measured(self) -> tuple[FleetNode, ...]:
        return tuple(n for n in self.nodes if n.status == MEASURED)

    @property
    def missing(self) -> tuple[FleetNode, ...]:
        return tuple(n for n in self.nodes if n.status != MEASURED)

    def to_json(self) -> dict:
        return {"schema": self.schema, "fleet_id": self.fleet_id, "commit": self.commit, "dirty": self.dirty,
                "address": self.address, "run_args": list(self.run_args), "started": self.started,
                "finished": self.finished, "nodes": [n.to_json() for n in self.nodes]}

    @staticmethod
    def from_json(raw: object, where: str) -> FleetManifest:
        f = Fields(raw, where)
        schema = f.str("schema")
        if schema != FLEET_SCHEMA:
            raise ResultsError(f"{where}: not an isobench fleet manifest (schema {schema or 'missing'!r}, "
                               f"expected {FLEET_SCHEMA!r})")
        return FleetManifest(fleet_id=f.str("fleet_id", required=True), commit=f.str("commit") or None,
                             dirty=bool(f.bool("dirty", False)), address=f.str("address"),
                             run_args=f.strs("run_args"), started=f.str("started"),
                             finished=f.str("finished"),
                             nodes=tuple(FleetNode.from_json(x, f"{where}.nodes[{i}]")
                                         for i, x in enumerate(f.list("nodes"))))

    def save(self, folder: Path) -> Path:
        return write_atomic(Path(folder) / MANIFEST, json.dumps(self.to_json(), indent=1) + "\n")


def is_fleet(folder: str | Path) -> bool:
    return (Path(folder) / MANIFEST).is_file()


def load_manifest(folder: str | Path) -> FleetManifest:
    """The manifest of a fleet folder; a missing or corrupt one is a ResultsError naming the file."""
    path = Path(folder) / MANIFEST
    try:
        text = path.read_text()
    except OSError as error:
        raise ResultsError(f"{path}: cannot read the fleet manifest ({error.strerror or error})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise ResultsError(f"{path}: corrupt JSON (line {error.lineno}: {error.msg})") from None
    return FleetManifest.from_json(raw, str(path))
