"""Plain-socket HTTP for the endpoint tests: what a browser, a scraper or a hostile client sends."""

from __future__ import annotations

import socket


def read_until_closed(s: socket.socket, timeout_s: float = 5) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as closed)."""
    s.settimeout(timeout_s)
    chunks = []
    try:
        while chunk := s.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def get(address: tuple[str, int], path: str) -> bytes:
    """A plain HTTP/1.0 GET; the whole answer (status line first)."""
    with socket.create_connection(address, timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
        return read_until_closed(s)
