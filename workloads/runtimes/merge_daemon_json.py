"""Merge isobench's runtimes into dockerd's daemon.json, keeping everything else.

    python3 merge_daemon_json.py DAEMON_JSON RUNSC_PATH WRAPPER_PATH

Prints "changed" or "unchanged". The file is replaced atomically; a file that
is not a JSON object is left alone (exit status 2). Used by setup-runtimes.sh.
"""

import json
import os
import sys


def wanted_runtimes(runsc: str, wrapper: str) -> dict:
    return {
        "isobench-runsc": {"path": runsc, "runtimeArgs": ["--network=none"]},
        "isobench-crun": {"path": wrapper},
    }


def merge(config: dict, runtimes: dict) -> bool:
    """Add or update the runtimes in config; True if anything changed."""
    registered = config.setdefault("runtimes", {})
    if all(registered.get(name) == entry for name, entry in runtimes.items()):
        return False
    registered.update(runtimes)
    return True


def main(path: str, runsc: str, wrapper: str) -> int:
    try:
        with open(path) as file:
            config = json.load(file)
    except FileNotFoundError:
        config = {}
    except ValueError as error:
        print(f"merge_daemon_json: {path} is not valid JSON ({error}); not touching it", file=sys.stderr)
        return 2
    if not isinstance(config, dict) or not isinstance(config.get("runtimes", {}), dict):
        print(f"merge_daemon_json: {path} is not a JSON object with an object of runtimes; not touching it",
              file=sys.stderr)
        return 2
    if not merge(config, wanted_runtimes(runsc, wrapper)):
        print("unchanged")
        return 0
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temporary = path + ".isobench.tmp"
    with open(temporary, "w") as file:
        json.dump(config, file, indent=2)
        file.write("\n")
    os.replace(temporary, path)
    print("changed")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
