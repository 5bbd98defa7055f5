"""What the `escape` worker tries to reach, made fresh for each contain run:
a secret file on the host, a TCP listener on the host's 127.0.0.1 that
records who connected, and a variable in the host's environment. Each pair
gets its own token, so a connection is attributed to exactly one pair."""

from __future__ import annotations

import secrets
import socket
import tempfile
import threading
from pathlib import Path

CANARY_NAME = "ISOBENCH_CONTAIN_CANARY"


class LoopbackListener:
    """Accepts connections on 127.0.0.1, reads one line (a token), answers."""

    def __init__(self) -> None:
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self.port = self._server.getsockname()[1]
        self.received: list[str] = []
        self._thread = threading.Thread(target=self._serve, name="isobench-contain-listener", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return  # closed
            with connection:
                connection.settimeout(2.0)
                try:
                    line = connection.recv(256).split(b"\n")[0].decode(errors="replace")
                    self.received.append(line)
                    connection.sendall(b"isobench-listener\n")
                except OSError:
                    continue

    def close(self) -> None:
        self._server.close()


class Bait:
    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="isobench-contain-")
        self.secret = "isobench-secret-" + secrets.token_hex(16)
        self.secret_path = Path(self._dir.name) / "secret.txt"
        self.secret_path.write_text(self.secret)
        self.secret_path.chmod(0o600)
        self.canary = "isobench-canary-" + secrets.token_hex(16)
        self.listener = LoopbackListener()
        self.hostname = _host_hostname()

    def argument(self, token: str) -> dict:
        """What the escape worker is told (where to look), never what it should find."""
        return {"secret_path": str(self.secret_path), "port": self.listener.port, "token": token,
                "canary": CANARY_NAME}

    def environment(self) -> dict[str, str]:
        """Added to the probe's (the host's) environment."""
        return {CANARY_NAME: self.canary}

    def truth(self, token: str) -> dict:
        """What escape would hold if it got out, for the verdict."""
        return {"secret": self.secret, "hostname": self.hostname, "canary": self.canary,
                "loopback_received": token in self.listener.received}

    def close(self) -> None:
        self.listener.close()
        self._dir.cleanup()


def _host_hostname() -> str:
    try:
        return Path("/etc/hostname").read_text()
    except OSError:
        return socket.gethostname() + "\n"
