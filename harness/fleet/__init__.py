"""`python -m harness fleet`: the same run on every node of a Ray cluster, one exclusive job per
machine, results brought home (docs/fleet.md)."""
