"""The results file's schema versions, and the one error every reader raises."""

SCHEMA = "isobench/2"
LEGACY_SCHEMA = "isobench/1"
WORKLOADS_SCHEMA = "isobench-workloads/1"  # several runs, one per workload, in one file


class ResultsError(Exception):
    """The file is missing, corrupt or not an isobench results file (one line)."""
