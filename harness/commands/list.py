"""`list`: each backend, whether it can run here, and why not."""

from __future__ import annotations

from harness.errors import EXIT_OK


def register(subparsers) -> None:
    parser = subparsers.add_parser("list", help="show each backend and whether it can run here")
    parser.add_argument("--base-image", default=None, help="as for `run`")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from harness.backends import REGISTRY, BackendOptions, create_backend

    width = max(len(name) for name in REGISTRY) + 2
    for name in REGISTRY:
        backend = create_backend(name, BackendOptions(base_image=args.base_image))
        try:
            availability = backend.availability()
            if availability.available:
                try:
                    versions = ", ".join(f"{k} {v}" for k, v in backend.versions().items() if v)
                except Exception as error:  # versions are informative only
                    versions = f"versions unknown: {error}"
                print(f"{name:<{width}}available    [{backend.family}] {backend.summary}\n{'':<{width + 13}}{versions}")
            else:
                print(f"{name:<{width}}UNAVAILABLE  {availability.reason}")
        finally:
            backend.close()
    _workloads()
    return EXIT_OK


def _workloads() -> None:
    """The workloads `run --workload` takes, and what each backend needs to run them."""
    from harness.runtime.worker import load_worker, read_manifest, workload_file, workload_names

    print("\nworkloads (run --workload NAME[,NAME...]|all; docs/workloads.md):")
    names = workload_names()
    width = max(len(name) for name in names) + 2
    for name in names:
        worker = load_worker(workload_file(name))  # the form its exports give, as a run reads it
        size = worker.path.stat().st_size
        print(f"{name:<{width}}{worker.form:<8}{size:>10,} B  {read_manifest(worker.path).get('description', '')}")
    print("Every backend that is available above runs every workload (tests/test_workloads.py checks the answers); "
          "a backend that fails one in a run says why in the run's output and the report.")
