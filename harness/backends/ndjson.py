"""Newline-delimited JSON over a byte stream: the transport between the harness
and the node runner (harness/runtime/node_runner.js), used unchanged by the
subprocess and container backends."""

from __future__ import annotations

import json
import os
import socket
import struct
import time
from abc import ABC, abstractmethod

from harness.backends.base import BackendError, Instance, WorkerLoadError
from harness.backends.fdwait import readable


class ChannelClosed(BackendError):
    """The runner closed its end: it exited or was killed."""


class ChannelTimeout(BackendError):
    """The runner did not answer in time."""


class LineChannel(ABC):
    """Send lines, receive lines, with a deadline on every read."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    @abstractmethod
    def _write(self, data: bytes) -> None: ...

    @abstractmethod
    def _read_some(self, timeout: float | None) -> bytes:
        """Bytes of the runner's stdout; b'' at end of stream."""

    def send_line(self, data: bytes) -> None:
        try:
            self._write(data + b"\n")
        except (BrokenPipeError, ConnectionError) as error:
            raise ChannelClosed(f"runner closed its input ({error.__class__.__name__})") from None

    def receive_line(self, timeout: float | None) -> bytes:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                return line
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            chunk = self._read_some(remaining)
            if not chunk:
                raise ChannelClosed("runner closed its output")
            self._buffer += chunk

    def close(self) -> None:
        """Release the channel's file descriptors or sockets."""


class PipeChannel(LineChannel):
    """The stdin/stdout pipes of a child process."""

    def __init__(self, write_fd: int, read_fd: int) -> None:
        super().__init__()
        self._write_fd, self._read_fd = write_fd, read_fd

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._write_fd, view) :]

    def _read_some(self, timeout: float | None) -> bytes:
        if timeout is not None:
            ready = readable([self._read_fd], timeout)
            if not ready:
                raise ChannelTimeout(f"no answer from the runner within {timeout:.1f} s")
        return os.read(self._read_fd, 65536)


class DockerAttachChannel(LineChannel):
    """A container's stdin/stdout through the Docker attach socket.

    Without a TTY, Docker multiplexes stdout and stderr in frames with an
    8-byte header (stream id, 3 zero bytes, big-endian length).
    """

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock
        self._raw = bytearray()
        self.stderr = bytearray()

    def _write(self, data: bytes) -> None:
        self._sock.sendall(data)

    def _read_some(self, timeout: float | None) -> bytes:
        while True:
            while len(self._raw) >= 8:
                stream, length = struct.unpack(">BxxxL", self._raw[:8])
                if len(self._raw) < 8 + length:
                    break
                payload = bytes(self._raw[8 : 8 + length])
                del self._raw[: 8 + length]
                if stream == 2:
                    self.stderr = (self.stderr + payload)[-8192:]
                    continue
                return payload
            self._sock.settimeout(timeout)
            try:
                chunk = self._sock.recv(65536)
            except socket.timeout:
                raise ChannelTimeout(f"no answer from the container within {timeout:.1f} s") from None
            except OSError as error:
                raise ChannelClosed(f"attach socket failed: {error}") from None
            if not chunk:
                return b""
            self._raw += chunk

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass


class RunnerInstance(Instance):
    """An instance driven through the node runner's NDJSON protocol."""

    def __init__(self, channel: LineChannel, timeout: float) -> None:
        self.channel = channel
        self.timeout = timeout
        self.runner_info: dict = {}

    def request(self, message: dict, timeout: float | None = None) -> dict:
        self.channel.send_line(json.dumps(message, separators=(",", ":")).encode())
        return self._answer(timeout)

    def _answer(self, timeout: float | None = None) -> dict:
        line = self.channel.receive_line(self.timeout if timeout is None else timeout)
        try:
            reply = json.loads(line)
        except ValueError:
            raise BackendError(f"runner sent something other than JSON: {line[:200]!r}") from None
        if not reply.get("ok", False):
            raise BackendError(f"runner error: {reply.get('error', 'unknown')}")
        return reply

    def await_ready(self) -> None:
        self.runner_info = self._answer()

    def load(self, bundle: str, filename: str) -> None:
        try:
            self.request({"op": "load", "source": bundle, "filename": filename})
        except BackendError as error:
            if isinstance(error, (ChannelClosed, ChannelTimeout)):
                raise
            raise WorkerLoadError(str(error).replace("runner error: ", "", 1)) from None

    def call(self, arg: str) -> str:
        return self.request({"op": "call", "arg": arg})["result"]

    def ping(self) -> None:
        self.request({"op": "ping"})

    def engine_time(self, arg: str, min_ms: float) -> dict:
        return self.request({"op": "engine", "arg": arg, "min_ms": min_ms})["result"]
