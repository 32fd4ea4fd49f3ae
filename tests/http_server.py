"""A local HTTP server on 127.0.0.1 with Range support, for offline download tests."""

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class ServerState:
    """What the server serves and how, and the Range header of every request it saw."""

    root: Path
    port: int = 0
    honour_ranges: bool = True
    cut_after: int | None = None  # announce the full length but stop sending after this many bytes
    stall_after: int | None = None  # send this many bytes, then go silent (the socket stays open)
    trickle_every: float | None = None  # send one byte at a time, this many seconds apart
    trickle_headers: bool = False  # with trickle_every: the status line and headers too
    endless: bool = False  # no Content-Length, and the file over and over until the client leaves
    content_length: str | None = None  # announce this instead of the real length
    ranges: list[str | None] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)  # ends every stall

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"


def _handler(state: ServerState) -> type[BaseHTTPRequestHandler]:
    class RangeHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requested = self.headers.get("Range")
            state.ranges.append(requested)
            path = state.root / self.path.lstrip("/")
            if not path.is_file():
                self.send_error(404)
                return
            data = path.read_bytes()
            if state.trickle_every is not None:
                self._trickle(data)
                return
            if state.endless:
                self._endless(data)
                return
            start = 0
            if requested and state.honour_ranges:
                start = int(re.fullmatch(r"bytes=(\d+)-", requested)[1])
                if start >= len(data):
                    self.send_error(416)
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", state.content_length or str(len(data) - start))
            self.end_headers()
            stop = len(data) if state.cut_after is None else start + state.cut_after
            if state.stall_after is not None:
                self.wfile.write(data[start : start + state.stall_after])
                self.wfile.flush()
                state.released.wait(timeout=30)  # silent, connection open, until the test ends
                return
            try:
                self.wfile.write(data[start:stop])
            except OSError:  # the client gave up (refused the length, say)
                return

        def _trickle(self, data: bytes) -> None:
            """Never silent for long, never done soon: a byte every `trickle_every` seconds."""
            head = f"HTTP/1.0 200 OK\r\nContent-Length: {len(data)}\r\n\r\n".encode()
            if not state.trickle_headers:
                self.wfile.write(head)
                head = b""
            for byte in head + data:  # bounded by the file, and by the test's end
                if state.released.wait(state.trickle_every):
                    return
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:  # the client gave up
                    return

        def _endless(self, data: bytes) -> None:
            """The file again and again, for at most 1 GiB or until the client leaves."""
            self.send_response(200)
            self.end_headers()
            for _ in range((1 << 30) // len(data)):
                if state.released.is_set():
                    return
                try:
                    self.wfile.write(data)
                except OSError:  # the client gave up
                    return

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

    return RangeHandler


@contextmanager
def serve_directory(root: Path) -> Iterator[ServerState]:
    """Serve the files under `root` on a free port until the block ends."""
    state = ServerState(root)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.released.set()
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def silent_server() -> Iterator[str]:
    """A URL on 127.0.0.1 whose server accepts connections and never answers a request.

    The kernel completes the TCP handshake for a listening socket, so a client connects and
    sends its request, then waits for an answer that never comes.
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/archive.tar.gz"
