"""Exit statuses and the error every command turns into one line and exit 2."""

EXIT_OK = 0  # everything asked for ran
EXIT_FAILED = 1  # a suite failed (or, for compare, a regression was found)
EXIT_USAGE = 2  # bad input: one line on stderr, nothing written
EXIT_SKIPPED = 3  # a backend was unavailable here; the others ran
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM; partial results saved


def one_line(error: BaseException, limit: int | None = None) -> str:
    """`ErrorType: first line of its message`, cut to `limit` characters."""
    text = str(error).strip().splitlines()
    return f"{error.__class__.__name__}: {text[0] if text else ''}".rstrip(": ")[:limit]


class UsageError(Exception):
    """Bad input: the message is one line."""
