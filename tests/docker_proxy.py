"""A unix-socket proxy to the Docker engine, for tests that need an engine
that dies mid-run without stopping the shared dockerd: point DOCKER_HOST at
the proxy's socket, then kill the proxy.

    python -m tests.docker_proxy LISTEN_PATH [UPSTREAM_PATH]
"""

import os
import socket
import sys
import threading

UPSTREAM = "/var/run/docker.sock"


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock, how in ((sink, socket.SHUT_WR), (source, socket.SHUT_RD)):
            try:
                sock.shutdown(how)
            except OSError:
                pass


def serve(listen_path: str, upstream_path: str = UPSTREAM) -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(listen_path)
    server.listen(64)
    print("ready", flush=True)
    while True:
        client, _ = server.accept()
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(upstream_path)
        except OSError:
            client.close()
            continue
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pump, args=(a, b), daemon=True).start()


if __name__ == "__main__":
    path = sys.argv[1]
    if os.path.exists(path):
        os.unlink(path)
    serve(path, *sys.argv[2:3])
