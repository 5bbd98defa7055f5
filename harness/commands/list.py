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
    return EXIT_OK
