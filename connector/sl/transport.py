"""The HTTP wire: one ``requests.Session``, explicit TLS/timeouts/proxies, network errors translated.

This is where foreign exceptions become ours (like requests' adapter). The key judgement is
whether a failed request *may have reached SAP*: only a failure to connect proves it did not.
"""

from __future__ import annotations

import logging
import time
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
import urllib3
from requests.structures import CaseInsensitiveDict
from requests.utils import requote_uri
from urllib3.exceptions import ConnectTimeoutError, InsecureRequestWarning, NewConnectionError

from connector.errors import SLConnectionError, SLOutcomeUnknownError, SLTLSError
from connector.sl.odata import display_path
from connector.sl.retry import is_idempotent
from connector.sl.tls import describe_tls_failure

logger = logging.getLogger(__name__)


class _NoStoreCookiePolicy(DefaultCookiePolicy):
    """Never store Set-Cookie automatically: the session module owns B1SESSION/ROUTEID.

    A Login on /b1s/v2 sets ``B1SESSION`` without a path (so the jar would scope it to /b1s/v2)
    and ``ROUTEID`` with path=/b1s; sending both explicitly on every request makes them reach
    both roots and keeps one session per client whatever the jar would have guessed.
    """

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False


def _connect_failed(exc: BaseException) -> bool:
    """True when the chain shows the TCP connection was never made (nothing was sent)."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, NewConnectionError | ConnectTimeoutError | requests.exceptions.ConnectTimeout):
            return True
        reason = getattr(current, "reason", None)
        stack.extend(
            [current.__cause__, current.__context__, reason if isinstance(reason, BaseException) else None]
        )
        stack.extend(arg for arg in current.args if isinstance(arg, BaseException))
    return False


class Transport:
    """Sends one HTTP request with the client's TLS, timeout and proxy choices on every call."""

    def __init__(
        self,
        *,
        base_url: str,
        verify: bool | str,
        connect_timeout_s: float,
        read_timeout_s: float,
        session: requests.Session | None = None,
    ) -> None:
        self.http = session or requests.Session()
        # trust_env=False: requests would otherwise let REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace
        # verify=True (Session.merge_environment_settings) and read ~/.netrc. Proxies are the one
        # environment setting we keep, resolved here on purpose (honouring NO_PROXY).
        self.http.trust_env = False
        self.http.cookies.set_policy(_NoStoreCookiePolicy())
        self.proxies: dict[str, str] = dict(requests.utils.get_environ_proxies(base_url, no_proxy=None))
        self.verify = verify
        self.timeout = (connect_timeout_s, read_timeout_s)
        if verify is False:
            logger.warning(
                "sl.tls_verify_disabled",
                extra={
                    "event": "sl.tls_verify_disabled",
                    "hint": "B1_VERIFY_TLS=false; set B1_CA_BUNDLE instead",
                },
            )
            # The user chose this explicitly; one warning above instead of one per request.
            urllib3.disable_warnings(InsecureRequestWarning)

    def send(
        self,
        method: str,
        url: str,
        *,
        cookies: dict[str, str] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """Send once; network failures become ``SLConnectionError`` / ``SLOutcomeUnknownError``."""
        path = display_path(url)
        started = time.monotonic()
        try:
            response = self._send_prepared(method, url, json_body, headers, cookies)
        except requests.exceptions.SSLError as exc:
            # A certificate problem is configuration, not a transient fault: not retryable.
            raise self._tls_error(exc, method, url, path) from exc
        except requests.exceptions.RequestException as exc:
            sent = not _connect_failed(exc)
            kind = "connection failed before sending" if not sent else _describe_after_send(exc)
            if sent and not is_idempotent(method, path):
                raise SLOutcomeUnknownError(
                    f"{method} {path}: {kind}; the outcome is unknown; "
                    "look the document up before posting again",
                    method=method,
                    path=path,
                ) from exc
            raise SLConnectionError(
                f"{method} {path}: {kind}", request_sent=sent, method=method, path=path
            ) from exc
        except OSError as exc:
            # requests opens the CA bundle before connecting: a B1_CA_BUNDLE deleted or made unreadable
            # since start raises a bare OSError (nothing was sent).
            if isinstance(self.verify, str):
                raise self._tls_error(exc, method, url, path) from exc
            raise
        # Method, path, status and time only: never headers (cookies) nor bodies (the Login's password).
        logger.debug(
            "sl.request",
            extra={
                "event": "sl.request",
                "method": method,
                "path": path,
                "status": response.status_code,
                "elapsed_ms": round((time.monotonic() - started) * 1000.0, 1),
            },
        )
        return response

    def _tls_error(self, exc: BaseException, method: str, url: str, path: str) -> SLTLSError:
        return SLTLSError(
            f"{method} {path}: {describe_tls_failure(exc, url=url, verify=self.verify)}",
            method=method,
            path=path,
        )

    def _send_prepared(
        self,
        method: str,
        url: str,
        json_body: Any,
        headers: dict[str, str] | None,
        cookies: dict[str, str] | None,
    ) -> requests.Response:
        """One request through the session's adapter, prepared here instead of by ``Session.request``.

        ``Session.request`` merges environment settings, cookie jars and hooks on every call, which
        cost more CPU than the request itself (issue 11). Everything it would decide is fixed here:
        trust_env is off, the session's jar stores nothing, the cookies go as one ``Cookie`` header,
        proxies and TLS are ours, and redirects are never followed (the SL never redirects, and a
        redirect could carry the session cookie elsewhere).
        """
        request = requests.PreparedRequest()
        request.method = method
        request.url = requote_uri(url)
        # User-Agent, Accept, Accept-Encoding, … (typeshed types the session's values str | bytes,
        # a prepared request's str; requests sends either)
        merged: CaseInsensitiveDict[str] = CaseInsensitiveDict()
        merged.update(
            (k, v if isinstance(v, str) else v.decode("latin-1")) for k, v in self.http.headers.items()
        )
        if headers:
            merged.update(headers)
        if cookies:
            merged["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        request.headers = merged
        request.prepare_body(data=None, files=None, json=json_body)
        request.prepare_hooks({})
        adapter = self.http.get_adapter(request.url)
        response = adapter.send(
            request, stream=False, timeout=self.timeout, verify=self.verify, cert=None, proxies=self.proxies
        )
        response.content  # noqa: B018 - read the body now, as Session.send does without stream
        return response

    def close(self) -> None:
        """Close pooled connections."""
        self.http.close()


def _describe_after_send(exc: BaseException) -> str:
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "no answer within the read timeout"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the answer was cut off"
    return f"connection lost ({type(exc).__name__})"
