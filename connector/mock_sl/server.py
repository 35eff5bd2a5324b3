"""A stateful mock SAP Business One Service Layer over real HTTP (``/b1s/v1`` and ``/b1s/v2``).

Used by tests (port 0), the demo, consultants' dry runs and CI. It speaks the real protocol
(docs/service-layer.md), single requests and ``$batch`` (``batch``), so an independent client works
against it unchanged::

    with MockServiceLayer(port=0) as sl:  # the demo company (connector/demo_company)
        requests.post(sl.root("v2") + "/Login", json={...})
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import socket
import struct
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from connector.demo_company import DEMO_COMPANY
from connector.mock_sl import batch, protocol
from connector.mock_sl.faults import Faults, apache_error_page
from connector.mock_sl.routes import Request, Response, Router
from connector.mock_sl.sap_rules import MockSwitches
from connector.mock_sl.sessions import Sessions
from connector.mock_sl.store import Store

__all__ = ["MockServiceLayer", "MockSwitches", "RequestRecord", "serve_forever_cli"]

ROUTE_ID = ".node1"  # the Apache balancer's stickiness cookie value (§1.2, §1.7)
#: Faults after which the connection is not kept alive (the client gave up, or the answer is broken).
_LOSES_CONNECTION = frozenset(
    {
        "delay",
        "slow_commit",
        "commit_then_drop",
        "commit_then_reset",
        "commit_then_hang",
        "commit_then_truncate",
    }
)


@dataclass(frozen=True)
class RequestRecord:
    """One request as the mock saw it (Login passwords redacted).

    ``status`` is what the mock answered (or would have: a hung or truncated answer keeps its status),
    None when the connection was dropped or reset without one; ``faults`` names the faults that fired.

    A ``$batch`` is one record (path ``$batch``, body None) whose ``parts`` are the sub-requests it
    carried out, in order, each with the status it was answered inside the batch: the requests of a
    failed change set keep theirs although the change set was rolled back, and the parts after a
    failure are not there (they never ran). Faults are injected on the ``$batch`` request itself.
    """

    method: str
    version: str
    path: str
    query: dict[str, str]
    body: Any
    status: int | None
    faults: tuple[str, ...] = ()
    parts: tuple[RequestRecord, ...] = ()


class MockServiceLayer:
    """The mock SL: a company store, sessions, faults and a threaded HTTP server."""

    def __init__(
        self,
        data: str | Path | Mapping[str, Any] = DEMO_COMPANY,
        host: str = "127.0.0.1",
        port: int = 0,
        switches: MockSwitches | None = None,
        session_timeout_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        latency_s: float = 0.0,
        max_records: int | None = None,
    ) -> None:
        self.store = Store(data)
        #: Added to every request before it is carried out, outside every lock, so concurrent requests
        #: wait in parallel as they do on a real SL (network + SAP's own time); benchmarks use it.
        self.latency_s = latency_s
        self.switches = switches or MockSwitches()
        self.sessions = Sessions(session_timeout_s, clock)
        self.faults = Faults()
        self.faults.on_expire_all.append(self.sessions.clear)
        self.host = host
        self._port = port
        #: How many request records are kept (the oldest go first); None keeps every one, as tests
        #: need. The command line bounds it: a mock serving demos for days must not grow without end.
        self.max_records = max_records
        self._records: deque[RequestRecord] = deque(maxlen=max_records)
        self._records_lock = threading.Lock()
        self._busy = 0  # requests being handled now
        self._idle = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.router = Router(self.store, self.switches, self.root)

    def __repr__(self) -> str:
        return f"MockServiceLayer(base_url={self.base_url!r}, company_db={self.company_db!r})"

    # -- public API ------------------------------------------------------------------------------
    @property
    def company_db(self) -> str:
        """``CompanyDB`` to log in with."""
        return self.store.company_db

    @property
    def users(self) -> dict[str, str]:
        """Demo users and passwords from the fixture's company.json."""
        return dict(self.store.users)

    @property
    def port(self) -> int:
        """The bound port (the real one once started with port 0)."""
        return int(self._server.server_address[1]) if self._server else self._port

    @property
    def base_url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    def root(self, version: str = "v2") -> str:
        """Service root of ``v1`` or ``v2``."""
        return f"{self.base_url}/b1s/{version}"

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request so far (the last ``max_records`` when bounded), in order of completion (a copy)."""
        with self._records_lock:
            return list(self._records)

    def record(self, entry: RequestRecord) -> None:
        """Append one request record (thread-safe)."""
        with self._records_lock:
            self._records.append(entry)

    def wait_idle(self, timeout_s: float = 5.0) -> bool:
        """Wait until no request is being handled (a slow commit has landed, a held answer was sent).

        True when idle, False when ``timeout_s`` passed first. Tests use it to stand for a quiet period
        long enough for every commit in flight."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout_s)

    def _handling(self, delta: int) -> None:
        with self._idle:
            self._busy += delta
            if self._busy == 0:
                self._idle.notify_all()

    def start(self) -> MockServiceLayer:
        """Bind and serve in a daemon thread."""
        handler = type("BoundHandler", (_Handler,), {"mock": self})
        self._server = _Server((self.host, self._port), handler)
        self._thread = threading.Thread(target=self._server.serve_until_stopped, name="mock-sl", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (at once: nothing waits out a poll interval)."""
        if self._server is not None:
            self._server.stop_serving()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._server is not None:
            self._server.server_close()
            self._port = int(self._server.server_address[1])
            self._server = None

    def __enter__(self) -> MockServiceLayer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- protocol --------------------------------------------------------------------------------
    def login(self, version: str, body: Any) -> Response:
        """POST Login: -306 unknown CompanyDB, -304 bad user/password, else a session (§1.2, §1.6)."""
        body = body if isinstance(body, dict) else {}
        if body.get("CompanyDB") != self.company_db:
            return self.router.error(version, 401, -306, protocol.LOGIN_FAILED)
        user = body.get("UserName")
        if not isinstance(user, str) or self.store.users.get(user) != body.get("Password"):
            return self.router.error(version, 401, -304, protocol.LOGIN_FAILED)
        session_id = self.sessions.create()
        context = f"{self.root(version)}/$metadata#B1Sessions/{'@Element' if version == 'v1' else '$entity'}"
        answer = {
            protocol.metadata_key(version): context,
            "SessionId": session_id,
            "Version": self.store.version,
            "SessionTimeout": self.sessions.timeout_minutes,
        }
        # The real v2 Login answer has no OData-Version header (§1.2, CASSETTE).
        headers = {"Content-Type": protocol.json_type(version)}
        response = Response(200, protocol.dumps(version, answer), headers)
        response.headers["Set-Cookie"] = f"B1SESSION={session_id};HttpOnly;"
        return response

    def invalid_session(self, version: str) -> Response:
        """401 / 301 (§1.3)."""
        return self.router.error(version, 401, 301, protocol.INVALID_SESSION)

    def invalid_json(self, version: str) -> Response:
        """400 / -1000 for a body that is not JSON."""
        return self.router.error(version, 400, -1000, protocol.INVALID_JSON)

    def carry_out(self, request: Request) -> Response:
        """A request of an open session, past Login/Logout: a single request or one ``$batch`` sub-request."""
        if request.body is ValueError:
            return self.invalid_json(request.version)
        return self.router.handle(request)

    def serve_batch(
        self, version: str, content_type: str | None, raw: bytes, prefer: str | None = None
    ) -> tuple[Response, list[RequestRecord]]:
        """``POST {root}/$batch`` of an open session (§3.4): the answer and the sub-requests carried out."""
        response, executed = batch.serve(
            version,
            content_type,
            raw,
            store=self.store,
            root=self.root(version),
            execute=self.carry_out,
            error=self.router.error,
            prefer=prefer,
        )
        parts = [
            RequestRecord(e.method, version, e.path, e.query, _redacted(e.path, e.body), e.status)
            for e in executed
        ]
        return response, parts


def _cookies(header: str | None) -> dict[str, str]:
    jar: dict[str, str] = {}
    for part in (header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            jar[name] = value
    return jar


class _Server(ThreadingHTTPServer):
    """A ThreadingHTTPServer whose serving loop ends the moment it is stopped.

    The standard ``serve_forever`` notices ``shutdown()`` only when its select() times out (its poll
    interval), so every stop waited ~50 ms; tests start and stop hundreds of mocks, which added up to
    tens of seconds. Here a socket pair wakes the loop instead, and nothing polls while idle.
    """

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._stopping = threading.Event()
        try:
            super().__init__(address, handler)
        except BaseException:
            self._close_wake()
            raise

    def serve_until_stopped(self) -> None:
        """Accept connections until ``stop_serving``; each is handled in its own thread."""
        with selectors.DefaultSelector() as selector:
            selector.register(self, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _events in selector.select():
                    if key.fileobj is self and not self._stopping.is_set():
                        # socketserver's own one-request step (what serve_forever calls); typeshed omits it
                        self._handle_request_noblock()  # type: ignore[attr-defined]
                self.service_actions()

    def stop_serving(self) -> None:
        """Make ``serve_until_stopped`` return now (from any thread)."""
        self._stopping.set()
        with contextlib.suppress(OSError):  # already closed: the loop has ended anyway
            self._wake_writer.send(b"\0")

    def server_close(self) -> None:
        super().server_close()
        self._close_wake()

    def _close_wake(self) -> None:
        self._wake_reader.close()
        self._wake_writer.close()


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler; all logic is in MockServiceLayer / Router."""

    mock: MockServiceLayer
    protocol_version = "HTTP/1.1"
    server_version = protocol.SERVER
    sys_version = ""
    timeout = 60  # idle keep-alive connections do not pin a thread forever
    # TCP_NODELAY: the status line + headers and the body are two writes; with Nagle on, each answer
    # waited for the client's delayed ACK (~40 ms a request), which made every test cycle slow.
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        """``Server: Apache/2.4.61 (Unix)`` as the real front answers (§1.2)."""
        return protocol.SERVER

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's own parameter name
        """Silent: request lines would clutter test output (and never carry secrets anyway)."""

    def do_GET(self) -> None:
        """GET."""
        self._serve("GET")

    def do_POST(self) -> None:
        """POST."""
        self._serve("POST")

    def do_PATCH(self) -> None:
        """PATCH."""
        self._serve("PATCH")

    def do_PUT(self) -> None:
        """PUT (SAP supports it; the mock refuses with -5006)."""
        self._serve("PUT")

    def do_DELETE(self) -> None:
        """DELETE."""
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        self.mock._handling(+1)
        try:
            self._serve_one(method)
        finally:
            self.mock._handling(-1)

    def _serve_one(self, method: str) -> None:
        mock = self.mock
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        parts = split.path.split("/", 3)  # ["", "b1s", "v2", "Items('A')"]
        if len(parts) < 3 or parts[1] != "b1s" or parts[2] not in ("v1", "v2"):
            self._send(Response(404, b"Not Found", {"Content-Type": "text/plain"}))
            return
        version, path = parts[2], unquote(parts[3] if len(parts) > 3 else "")
        is_batch = method == "POST" and path == "$batch"
        try:
            # A $batch body is multipart, read by the batch itself.
            body = json.loads(raw_body) if raw_body.strip() and not is_batch else None
        except ValueError:
            body = ValueError
        self._batch_parts: list[RequestRecord] = []
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        if mock.latency_s > 0:
            time.sleep(mock.latency_s)  # no lock held: each handler thread waits on its own
        fired = {fault.mode: fault for fault in mock.faults.take(method, path)}
        for held in ("delay", "slow_commit"):  # held before being carried out
            if held in fired:
                time.sleep(fired[held].seconds)
        if "fail" in fired:
            response = self._fault_response(version, fired["fail"])
        else:
            try:
                response = self._carry_out(method, version, path, split.query, query, body, raw_body)
            except Exception:  # a bug of the mock's: answered like a broken SL node, never a dropped line
                traceback.print_exc()
                # ASSUMPTION: SAP's text for an internal failure is not captured; 500 as §2.2 lists it.
                response = mock.router.error(version, 500, -1, "Internal error")
        dropped = "commit_then_drop" in fired or "commit_then_reset" in fired
        if "commit_then_502" in fired:
            response = Response(
                502,
                apache_error_page(502).encode("iso-8859-1"),
                {"Content-Type": "text/html; charset=iso-8859-1"},
            )
        # Recorded before the client can see the outcome, so a test that just got its answer (or its
        # connection error) always finds the request in sl.requests.
        mock.record(
            RequestRecord(
                method,
                version,
                path,
                query,
                _redacted(path, body),
                None if dropped else response.status,
                tuple(fired),
                tuple(self._batch_parts),
            )
        )
        # The client has given up (or will): never read another request from this connection.
        closing = bool(fired.keys() & _LOSES_CONNECTION)
        if closing:
            self.close_connection = True
        if "commit_then_drop" in fired:
            # Committed, then the connection dies without a status line (a lost response).
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if "commit_then_reset" in fired:
            # Committed, then a TCP RST: SO_LINGER on with timeout 0 makes close() abort the connection.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # Closed now, although rfile/wfile still refer to the socket (they would delay the close).
            os.close(self.connection.detach())
            return
        if "commit_then_hang" in fired:
            time.sleep(fired["commit_then_hang"].seconds)  # past the client's read timeout
        self._send(response, truncate="commit_then_truncate" in fired, close=closing)

    def _carry_out(
        self,
        method: str,
        version: str,
        path: str,
        raw_query: str,
        query: dict[str, str],
        body: Any,
        raw_body: bytes,
    ) -> Response:
        mock = self.mock
        if body is ValueError:
            return mock.invalid_json(version)
        if path == "Login" and method == "POST":
            return mock.login(version, body)
        session_id = _cookies(self.headers.get("Cookie")).get("B1SESSION")
        if not mock.sessions.use(session_id):
            return mock.invalid_session(version)
        if path == "Logout" and method == "POST":
            mock.sessions.drop(session_id)
            return Response(204)
        if path == "$batch" and method == "POST":
            # Every sub-request runs as this session, through the same dispatch as a single request.
            content_type, prefer = self.headers.get("Content-Type"), self.headers.get("Prefer")
            response, self._batch_parts = mock.serve_batch(version, content_type, raw_body, prefer)
            return response
        return mock.carry_out(Request(method, version, path, raw_query, query, self.headers, body))

    def _fault_response(self, version: str, fault: Any) -> Response:
        if fault.html:
            return Response(
                fault.status,
                apache_error_page(fault.status).encode("iso-8859-1"),
                {"Content-Type": "text/html; charset=iso-8859-1"},
            )
        code = fault.code if fault.code is not None else (301 if fault.status == 401 else -1)
        message = fault.message or (protocol.INVALID_SESSION if fault.status == 401 else "Injected fault")
        return self.mock.router.error(version, fault.status, code, message)

    def _send(self, response: Response, *, truncate: bool = False, close: bool = False) -> None:
        """Send the answer; ``truncate``: announce the whole body, send half of it; ``close``: then close.

        An answer without a body (a 204 to ``Prefer: return-no-content``) has only its head to cut: the
        status line is cut before its status code (half of it would still read as a whole 204), then
        the connection is closed.
        """
        if truncate and not response.body:
            self.close_connection = True
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(self.protocol_version.encode("latin-1")[:-2])  # "HTTP/1"
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.headers.get("Set-Cookie", "").startswith("B1SESSION="):
            self.send_header("Set-Cookie", f"ROUTEID={ROUTE_ID}; path=/b1s")
        self.send_header("Content-Length", str(len(response.body)))
        if close or truncate:
            self.send_header("Connection", "close")  # also sets self.close_connection
        body = response.body[: len(response.body) // 2] if truncate else response.body
        try:
            self.end_headers()
            if body:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its read timeout during a delay)


def _redacted(path: str, body: Any) -> Any:
    """The recorded body; a Login password never leaves the handler."""
    if body is ValueError:
        return None
    if path == "Login" and isinstance(body, dict) and "Password" in body:
        return {**body, "Password": "***"}
    return body


def serve_forever_cli(argv: list[str] | None = None) -> int:
    """``b1-backflush mock-sl`` / ``python -m connector.mock_sl``: serve until Ctrl+C."""
    from connector.mock_sl.cli import main

    return main(argv)
