"""Command line: python -m harness COMMAND ... (one module per command in
harness/commands/; each has `register(subparsers)` and a `run(args)`)."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

from harness.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, UsageError

COMMANDS = ("run", "list", "summary", "compare", "ab", "gate", "history", "export", "report", "contain", "fleet")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness",
                                     description="isobench: isolates vs processes vs containers, measured here.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"harness.commands.{name.replace('-', '_')}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    # A parent may start us with SIGINT/SIGTERM blocked; the mask is inherited
    # and a blocked signal never arrives, so a run could not be stopped.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except UsageError as error:
        print(f"isobench: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("isobench: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader (`| head`) stopped reading: no traceback (Python's signal docs)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
