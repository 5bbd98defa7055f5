"""Watch a process's descendants while it runs, to check afterwards that
none of them is left (children, grandchildren, and orphans it adopted)."""

import threading
import time

import psutil


class Descendants:
    def __init__(self, pid: int, interval_s: float = 0.02) -> None:
        self.pid = pid
        self.seen: dict[int, tuple[float, str]] = {}  # pid -> (create_time, command line)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(interval_s,), daemon=True)
        self._thread.start()

    def _watch(self, interval_s: float) -> None:
        while not self._stop.is_set():
            try:
                children = psutil.Process(self.pid).children(recursive=True)
            except psutil.Error:
                return
            for child in children:
                try:
                    # Read the command line again each time: a child first seen between fork and
                    # exec still shows its parent's, and would never be recognised.
                    created, cmdline = child.create_time(), " ".join(child.cmdline())
                    if cmdline or child.pid not in self.seen:  # a zombie's is empty: keep the last one read
                        self.seen[child.pid] = (created, cmdline)
                except psutil.Error:
                    continue
            time.sleep(interval_s)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def alive(self) -> list[str]:
        """Descendants seen during the run that still run now (zombies do not count)."""
        left = []
        for pid, (created, cmdline) in self.seen.items():
            try:
                process = psutil.Process(pid)
                if process.create_time() == created and process.status() != psutil.STATUS_ZOMBIE:
                    left.append(f"{pid} {cmdline[:120]}")
            except psutil.Error:
                continue
        return left


def wait_until(process, condition, what: str, timeout_s: float = 300.0) -> None:
    """Poll condition() while the process runs; fail if it ends or time runs out first."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert process.poll() is None, f"the process ended before {what}"
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s:g} s"
        time.sleep(0.05)


class Watched:
    """`with Watched(process) as watch:` watches its descendants and, however
    the block ends, kills the process if it still runs."""

    def __init__(self, process) -> None:
        self.process = process

    def __enter__(self) -> Descendants:
        self.watch = Descendants(self.process.pid)
        return self.watch

    def __exit__(self, *exc_info) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.watch.stop()
