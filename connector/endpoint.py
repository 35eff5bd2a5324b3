"""The service's own HTTP endpoint (``B1_HTTP_PORT``): ``/`` status page, ``/healthz``, ``/metrics``.

* ``/`` (and ``/status``): held orders with their reasons and what to do, unsettled postings,
  duplicates, recent receipts and cycles, as a page a planner opens in the browser. Read from the
  ledger on each request, so it shows the same as ``b1-backflush status``. ``/status.json`` is the
  same as ``status --json``.
* ``/healthz``: 200 while a cycle succeeded within three poll intervals (or the service is younger
  than that), or the running cycle made progress (read a page, posted or held an order) within the
  last interval — a long backlog is healthy while it moves; else 503. For a load balancer, Windows
  service monitor or uptime check.
* ``/metrics``: Prometheus exposition of ``ServiceMetrics``.

Read-only, GET only, no SAP access and no secrets; it listens on 127.0.0.1 unless ``B1_HTTP_HOST``
says otherwise. At most ``MAX_CONNECTIONS`` clients are served at once (more get 503 at once), a
client silent for ``CONNECTION_TIMEOUT_S`` is disconnected, and so is any connection still open three
timeouts (30 s) after it was accepted (``connector.bounded_http``), so idle, half-open or dribbling
connections can neither pile up threads in the service nor keep ``/healthz`` answering 503.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from connector.bounded_http import BoundedThreadingHTTPServer
from connector.errors import ConfigError
from connector.json_output import dumps
from connector.ledger import Ledger
from connector.metrics import ServiceMetrics
from connector.settings import Settings
from connector.status import status_dict
from connector.status_page import status_html

log = logging.getLogger(__name__)

#: Connections served at once; more are answered 503 at once (planners' browsers, a scraper, a monitor).
MAX_CONNECTIONS = 16
#: A client that sends nothing for this long is disconnected, freeing its slot.
CONNECTION_TIMEOUT_S = 10.0

#: A cycle older than this many poll intervals makes ``/healthz`` answer 503.
HEALTHY_WITHIN_INTERVALS = 3


class ServiceEndpoint:
    """Serves the status page, health and metrics of one service."""

    def __init__(
        self, settings: Settings, metrics: ServiceMetrics, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.clock = clock
        self.started_at = clock()
        #: (host, port) the endpoint listens on once ``serve`` has bound it (port 0 picks a free one).
        self.address: tuple[str, int] | None = None

    def health(self) -> tuple[int, dict[str, Any]]:
        """``(status, body)``: healthy while a cycle succeeded recently enough, or the running one moves."""
        interval = self.settings.poll_interval_s
        window = HEALTHY_WITHIN_INTERVALS * interval
        last = self.metrics.last_success_at
        now = self.clock()
        age = None if last is None else round(now - last, 1)
        progress = self.metrics.last_progress_at
        progress_age = None if progress is None else round(now - progress, 1)
        recent_success = (age is not None and age <= window) or (
            last is None and now - self.started_at <= window
        )
        moving = progress_age is not None and progress_age <= interval
        body = {
            "status": "ok" if recent_success else "busy" if moving else "stale",
            "last_successful_cycle_age_s": age,
            "running_cycle_last_progress_age_s": progress_age,
            "healthy_within_s": window,
            "login_refusals": self.metrics.login_refusal_count,
        }
        healthy = recent_success or moving
        return (200 if healthy else 503), body

    def status(self) -> dict[str, Any]:
        """What ``b1-backflush status`` shows, read from the ledger now."""
        ledger = Ledger.open_read_only(self.settings.ledger_path)  # the page never writes
        try:
            return status_dict(ledger, self.settings.company_db)
        finally:
            ledger.close()

    def serve(
        self,
        host: str,
        port: int,
        *,
        max_connections: int = MAX_CONNECTIONS,
        connection_timeout_s: float = CONNECTION_TIMEOUT_S,
        connection_deadline_s: float | None = None,  # None: bounded_http's, three timeouts
    ) -> Callable[[], None]:
        """Serve in a daemon thread; returns the function that stops it (``self.address``: where)."""
        handler = type("BoundEndpointHandler", (_Handler,), {"endpoint": self})
        try:
            server = BoundedThreadingHTTPServer(
                (host, port),
                handler,
                max_connections=max_connections,
                timeout_s=connection_timeout_s,
                deadline_s=connection_deadline_s,
            )
        except OSError as exc:
            raise ConfigError(
                f"B1_HTTP_PORT {port} on {host} cannot be opened ({exc.strerror or exc}): "
                "choose a free port, or leave B1_HTTP_PORT empty for no endpoint"
            ) from None
        self.address = (str(server.server_address[0]), int(server.server_address[1]))
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="b1bf-endpoint", daemon=True
        )
        thread.start()
        log.info("endpoint_serving", extra={"address": f"http://{host}:{port}/"})

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

        return stop


class _Handler(BaseHTTPRequestHandler):
    endpoint: ServiceEndpoint

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's own parameter name
        log.debug("endpoint_request", extra={"request": format % args})

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        try:
            if path in ("/", "/status"):
                page = status_html(self.endpoint.status(), refresh_s=self.endpoint.settings.poll_interval_s)
                self._answer(200, page.encode("utf-8"), "text/html; charset=utf-8")
            elif path == "/status.json":
                body = dumps("status", self.endpoint.status()).encode("utf-8")
                self._answer(200, body, "application/json")
            elif path == "/healthz":
                status, health = self.endpoint.health()
                self._answer(status, json.dumps(health).encode("utf-8"), "application/json")
            elif path == "/metrics":
                self._answer(200, generate_latest(self.endpoint.metrics.registry), CONTENT_TYPE_LATEST)
            else:
                self._answer(404, b"not found: try /, /healthz or /metrics\n", "text/plain; charset=utf-8")
        except ConnectionError:  # the client is gone, or was cut at its deadline: nobody to answer
            log.debug("endpoint_client_gone", extra={"path": path})
        except Exception:  # the page must never take the service down; the log has the details
            log.exception("endpoint_failed", extra={"path": path})
            self._answer(500, b"internal error: see the service log\n", "text/plain; charset=utf-8")
