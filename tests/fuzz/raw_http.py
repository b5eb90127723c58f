"""A raw HTTP/1.1 client for the hostile input: keep-alive, and bytes sent exactly as given (http.client and aiohttp
refuse a malformed request line or header; sending those is the point)."""

from __future__ import annotations

import http.client
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

RUN_HEADER = "X-Fuzz-Run"  # each driver labels its requests, so the desk's counts say who sent what
REQUEST_TIMEOUT_S = 10.0


@dataclass
class Request:
    method: str
    target: bytes  # path and query, as bytes on the wire
    headers: list[tuple[bytes, bytes]]
    body: bytes | None
    what: str  # the attack, for the report
    forged_token: bool = False  # a token that must not open a secured route
    injected_filter: bool = False  # filter text that matches no seeded ticket
    expect: str = ""  # "2xx" or "400/422" when the document decides the answer


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


class RawClient:
    def __init__(self, url: str, run: str) -> None:
        self.run = run
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.sock: socket.socket | None = None

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _connect(self) -> socket.socket:
        if self.sock is None:
            self.sock = socket.create_connection((self.host, self.port), timeout=REQUEST_TIMEOUT_S)
        return self.sock

    def send(self, request: Request) -> Answer:
        head = [f"{request.method} ".encode() + request.target + b" HTTP/1.1", f"Host: {self.host}".encode(),
                f"{RUN_HEADER}: {self.run}".encode()]
        head += [name + b": " + value for name, value in request.headers]
        if request.body is not None:
            head.append(f"Content-Length: {len(request.body)}".encode())
        wire = b"\r\n".join(head) + b"\r\n\r\n" + (request.body or b"")
        for attempt in range(2):
            reused = self.sock is not None
            sock = self._connect()
            started = time.perf_counter()
            try:
                try:
                    sock.sendall(wire)
                except (BrokenPipeError, ConnectionResetError):
                    if reused and attempt == 0:
                        raise
                    # the desk may answer (413) and close before reading a large body: read what it said
                response = http.client.HTTPResponse(sock, method=request.method)
                response.begin()
                body = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if reused and attempt == 0:
                    continue  # a keep-alive connection the desk had closed: once more on a new one
                raise
            if response.will_close:
                self.close()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body,
                          time.perf_counter() - started)
        raise ConnectionError("no answer")


def malformed_request_line(target: bytes) -> bool:
    """Not a request-target at all (RFC 9112: visible ASCII): raw spaces, control bytes or bytes that are not UTF-8.
    Sanic 21.12 drops the connection for those without an answer; any other request must be answered."""
    if any(b <= 0x20 or b == 0x7F for b in target):
        return True
    try:
        target.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False
