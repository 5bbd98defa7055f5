"""`fleet`: the same run on every node of a Ray cluster, one exclusive job
per machine, each node's results brought home to results/fleet/<fleet-id>/
with a manifest (docs/fleet.md)."""

from __future__ import annotations

import datetime
import sys
import uuid
from pathlib import Path

from harness.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, UsageError


def register(subparsers) -> None:
    from harness.measure.options import add_to_argparse

    parser = subparsers.add_parser("fleet", help="run the suite on every node of a Ray cluster; results come home")
    parser.add_argument("--address", default=None,
                        help="the Ray cluster: ray://HOST:10001, HOST:6379, or auto (default: the manifest's "
                             "address with --resume, else auto)")
    parser.add_argument("--setup", action="store_true", help="run scripts/setup-host.sh on each node first")
    parser.add_argument("--out", default="results/fleet", help="parent folder of the fleet's folder "
                        "(default: %(default)s)")
    parser.add_argument("--resume", default=None, metavar="FOLDER",
                        help="measure only the nodes this fleet folder does not hold as measured (its own run "
                             "options are used)")
    add_to_argparse(parser)
    parser.set_defaults(handler=run)


def run_args(args) -> tuple[str, ...]:
    """The run options as given, checked here, as `python -m harness run` arguments for every node."""
    from harness.measure.options import OPTIONS, given, run_options

    run_options(given(lambda name: getattr(args, name.replace("-", "_"))))  # bad input stops here
    found: list[str] = []
    for option in OPTIONS:
        value = getattr(args, option.name.replace("-", "_"))
        if value not in (None, ""):
            found += [f"--{option.name}", str(value)]
    return tuple(found)


def _new_manifest(args, address: str):
    from harness.fleet.manifest import FleetManifest
    from harness.measure.machine import git_info

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    source = git_info()
    return FleetManifest(fleet_id=f"{stamp}-{uuid.uuid4().hex[:6]}", commit=source["commit"],
                         dirty=bool(source["dirty"]), address=address, run_args=run_args(args),
                         started=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))


def _resumed(folder: str):
    from harness.fleet.manifest import load_manifest
    from harness.measure.machine import git_info
    from harness.results.schema import ResultsError

    try:
        manifest = load_manifest(folder)
    except ResultsError as error:
        raise UsageError(str(error)) from None
    here = git_info()["commit"]
    if manifest.commit and here and here != manifest.commit:
        raise UsageError(f"{folder}: the fleet measured commit {manifest.commit[:10]}, this checkout is "
                         f"{here[:10]}; check that commit out to resume it")
    return manifest


def run(args) -> int:
    from harness.fleet.orchestrate import run_fleet
    from harness.fleet.ray_cluster import NodeLost, RayCluster

    if args.resume:
        manifest = _resumed(args.resume)
        folder = Path(args.resume)
        address = args.address or manifest.address or "auto"
    else:
        address = args.address or "auto"
        manifest = _new_manifest(args, address)
        folder = Path(args.out) / manifest.fleet_id
    if manifest.dirty:
        print("isobench fleet: WARNING: the checkout has uncommitted changes; they are shipped and measured, "
              "but the manifest's commit does not name them", file=sys.stderr)
    cluster = RayCluster(address)
    try:
        manifest = run_fleet(cluster, manifest, folder, args.setup,
                             say=lambda line: print(line, file=sys.stderr, flush=True))
    except KeyboardInterrupt:
        print(f"isobench fleet: interrupted; what finished is in {folder}/ "
              f"(python -m harness fleet --resume {folder})", file=sys.stderr)
        return EXIT_INTERRUPTED
    except NodeLost as error:
        raise UsageError(str(error)) from None
    finally:
        cluster.close()
    for node in manifest.nodes:
        print(f"{node.name}: {node.status}" + (f" ({node.cause})" if node.cause else "")
              + (f" -> {folder / node.results}" if node.results else ""))
    missing = manifest.missing
    print(f"fleet: {folder}/ ({len(manifest.measured)} of {len(manifest.nodes)} node(s) measured; "
          f"python -m harness report {folder})", file=sys.stderr)
    if missing:
        print(f"isobench fleet: not measured: {', '.join(f'{n.name} ({n.status})' for n in missing)}; "
              f"python -m harness fleet --resume {folder}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
