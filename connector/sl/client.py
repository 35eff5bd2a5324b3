"""``ServiceLayerClient``: the connector's only door to SAP Business One's Service Layer.

One client = one company, one user, one session (shared safely across threads). Every call goes
through ``_request``: session ticket → send → on 401 re-login once and replay → status check. The
whole call sits inside one tenacity loop, which only repeats what ``retry.is_retryable`` allows.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import requests

from connector.clock import REAL_CLOCK, Clock
from connector.errors import (
    SLAuthError,
    SLError,
    SLNotFoundError,
    SLOutcomeUnknownError,
    SLQueryError,
    SLRequestError,
    SLServerError,
    SLSessionError,
)
from connector.sl import envelope, odata
from connector.sl.config import RetryPolicy, SLSettings
from connector.sl.odata import display_path
from connector.sl.paging import iter_pages
from connector.sl.retry import build_retrying, is_idempotent, is_retryable
from connector.sl.session import LoginResult, SessionManager, SessionTicket, login_body, parse_login
from connector.sl.transport import Transport

logger = logging.getLogger(__name__)

#: Retries as ``B1_RETRY_*`` default to.
DEFAULT_RETRY = RetryPolicy()

#: Asks SAP to answer a POST with 204 and the new entity's URL instead of the whole entity (§2.2).
RETURN_NO_CONTENT = {"Prefer": "return-no-content"}

#: SAP codes meaning "your query is wrong" (§2.3): 201 bad $filter/$expand, -1000 unknown property.
QUERY_ERROR_CODES = frozenset({"201", "-1000"})
NOT_FOUND_CODE = "-2028"


@dataclass(frozen=True)
class Created:
    """SAP's answer to a POST that created an entity."""

    #: The 201's entity; empty after a 204 (``Prefer: return-no-content``).
    entity: dict[str, Any]
    #: The key named by the ``Location`` header (``InventoryGenEntries(123)`` → ``"123"``), if any.
    key: str | None

    def integer_key(self, name: str) -> Any:
        """The entity's integer key ``name`` (e.g. DocEntry): from the entity when SAP sent it, else
        from ``Location``; whatever SAP sent when it is not an integer (the caller judges it)."""
        if name in self.entity:
            return self.entity[name]
        key = self.key
        if key is not None and key.startswith(f"{name}="):  # OData's named form, ``(DocEntry=5)``
            key = key[len(name) + 1 :]
        return int(key) if key is not None and key.isdigit() else key


def error_from_response(response: requests.Response, *, method: str, path: str) -> SLError:
    """The one mapping from HTTP status + SAP code to an exception class (see connector.errors)."""
    status = response.status_code
    body_text, content_type = response.text or "", response.headers.get("Content-Type", "")
    code, sap_message = envelope.describe_body(body_text, content_type)
    sap_error = envelope.is_sap_error(body_text)
    is_login = path.split("?", 1)[0].rstrip("/").endswith("/Login") or path == "Login"
    if is_login:
        path = path.split("?", 1)[0]  # a Login's query (if any) is never shown
    detail = f" [SAP {code}]" if code is not None else ""
    text = f"{method} {path} -> HTTP {status}{detail}: {sap_message or response.reason or 'no message'}"
    context: dict[str, Any] = {
        "status": status,
        "code": code,
        "sap_message": sap_message,
        "method": method,
        "path": path,
    }
    if status == 401:
        return SLAuthError(text, **context) if is_login else SLSessionError(text, **context)
    if 400 <= status < 500 and not is_idempotent(method, path) and not sap_error:
        # A 4xx without SAP's JSON error body (a proxy's HTML 400/404/413, a gateway's text) does
        # not prove the Service Layer refused the POST: only SAP's own error is a business refusal.
        return SLOutcomeUnknownError(
            f"{text} (not SAP's error body); the outcome is unknown; "
            "look the document up before posting again",
            **context,
        )
    if status == 404 or code == NOT_FOUND_CODE:
        return SLNotFoundError(text, **context)
    if 400 <= status < 500:
        if status == 400 and code in QUERY_ERROR_CODES and method.upper() == "GET":
            return SLQueryError(text, **context)
        return SLRequestError(text, **context)
    if status >= 500 and method.upper() == "POST" and not is_idempotent(method, path):
        # 500/502/503/504 after a POST reached Apache: SAP may have committed it (exactly-once rule 3).
        return SLOutcomeUnknownError(
            f"{text}; the outcome is unknown; look the document up before posting again", **context
        )
    if status >= 500:
        return SLServerError(text, **context)
    # 1xx/3xx: the SL never answers like this; treat as a refusal we do not understand.
    return SLRequestError(text, **context)


class ServiceLayerClient:
    """A Service Layer client for one company and user (v1 or v2, from the URL)."""

    def __init__(
        self,
        sl: SLSettings,
        retry: RetryPolicy = DEFAULT_RETRY,
        *,
        clock: Clock = REAL_CLOCK,
        session: requests.Session | None = None,
    ) -> None:
        """``sl``: where and as whom; ``retry``: how often and how long; ``clock``: time, the stop-aware
        sleep of every back-off and the stop event (``session``: a requests session, for tests)."""
        self.base_url = sl.url.rstrip("/")
        self.company_db = sl.company_db
        self.username = sl.username
        self._password = sl.password
        self.page_size = sl.page_size
        self.protocol: Literal["v1", "v2"] = "v1" if self.base_url.endswith("/v1") else "v2"
        self._policy = retry
        self._clock = clock
        self._transport = Transport(
            base_url=self.base_url,
            verify=sl.verify,
            connect_timeout_s=sl.connect_timeout_s,
            read_timeout_s=sl.read_timeout_s,
            session=session,
        )
        self._session = SessionManager(
            do_login=self._do_login,
            do_logout=self._do_logout,
            clock=clock.monotonic,
            margin_s=sl.session_margin_s,
        )

    def __repr__(self) -> str:
        # URL, company and user only: never the password or the session cookies.
        fields = f"url={self.base_url!r}, company_db={self.company_db!r}, user={self.username!r}"
        return f"ServiceLayerClient({fields})"

    def __enter__(self) -> ServiceLayerClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def version(self) -> str | None:
        """The SL ``Version`` string from the last Login, or ``None`` before login."""
        return self._session.version

    # -- session -------------------------------------------------------------------------------
    def login(self) -> None:
        """Log in now (retried on connect errors, 502/503/504 and 500/299; never on 401)."""
        self._retrying("POST", display_path(f"{self.base_url}/Login"))(self._session.login)

    def logout(self) -> None:
        """Log out (204). A session SAP already dropped (401) counts as logged out."""
        with contextlib.suppress(SLSessionError):
            self._session.logout()

    def close(self) -> None:
        """Log out if logged in (best effort) and release connections."""
        try:
            if self._session.logged_in:
                self.logout()
        except SLError as exc:
            logger.warning(
                "sl.logout_failed", extra={"event": "sl.logout_failed", "reason": type(exc).__name__}
            )
        finally:
            self._transport.close()

    def _do_login(self) -> LoginResult:
        url = f"{self.base_url}/Login"
        body = login_body(self.company_db, self.username, self._password.get_secret_value())
        response = self._transport.send("POST", url, json_body=body)
        path = display_path(url)
        if response.status_code != 200:
            raise error_from_response(response, method="POST", path=path)
        try:
            return parse_login(response.json(), dict(response.cookies.items()))
        except ValueError as exc:
            raise SLServerError(
                f"POST {path} -> HTTP 200: unreadable Login answer ({exc})",
                status=200,
                method="POST",
                path=path,
            ) from None

    def _do_logout(self, cookies: dict[str, str]) -> None:
        url = f"{self.base_url}/Logout"
        response = self._transport.send("POST", url, cookies=cookies)
        if response.status_code >= 300:
            raise error_from_response(response, method="POST", path=display_path(url))

    # -- requests ------------------------------------------------------------------------------
    def _retrying(self, method: str, path: str, started: float | None = None) -> Any:
        return build_retrying(
            self._policy,
            method=method,
            path=path,
            clock=self._clock,
            started=started,
        )

    def url(self, path: str, query: str = "") -> str:
        """An absolute URL for ``path`` relative to the service root."""
        full = f"{self.base_url}/{path.lstrip('/')}"
        return f"{full}?{query}" if query else full

    def request(
        self, method: str, url: str, *, json_body: Any = None, headers: dict[str, str] | None = None
    ) -> requests.Response:
        """Send with session handling, one re-login on 401, retries per ``is_retryable``; 2xx or raise."""
        method = method.upper()
        started = self._clock.monotonic()
        try:
            # Most requests succeed at once: the first attempt runs without tenacity's machinery,
            # which cost more CPU than the rest of a request's own work (issue 11).
            return self._attempt(method, url, json_body, headers)
        except Exception as exc:
            if not is_retryable(exc, method):
                raise
            first_failure: BaseException | None = exc
        # The same budget as ever, the failed attempt counted as attempt 1: tenacity sees it raise
        # again (judged, logged, waited for as before) and carries on from attempt 2.

        def attempt() -> requests.Response:
            nonlocal first_failure
            if first_failure is not None:
                failure, first_failure = first_failure, None
                raise failure
            return self._attempt(method, url, json_body, headers)

        response: requests.Response = self._retrying(method, display_path(url), started)(attempt)
        return response

    def _attempt(
        self, method: str, url: str, json_body: Any, headers: dict[str, str] | None
    ) -> requests.Response:
        ticket = self._session.ticket()
        response = self._send_with(ticket, method, url, json_body, headers)
        if response.status_code == 401:
            # 301 "Invalid session": SAP did not process the request, so even a POST may be replayed once.
            ticket = self._session.renew(ticket)
            response = self._send_with(ticket, method, url, json_body, headers)
        if response.status_code >= 300:
            raise error_from_response(response, method=method, path=display_path(url))
        return response

    def _send_with(
        self, ticket: SessionTicket, method: str, url: str, json_body: Any, headers: dict[str, str] | None
    ) -> requests.Response:
        started = self._clock.monotonic()
        response = self._transport.send(
            method, url, cookies=ticket.cookies, json_body=json_body, headers=headers
        )
        if response.status_code != 401 and response.status_code < 500:
            self._session.touch(ticket, started)
        return response

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET ``path`` (relative to the service root) and return the JSON body."""
        url = self.url(path, odata.encode_query(params or {}))
        return _json_of(self.request("GET", url), method="GET", url=url)

    def get_entity(
        self, entity_set: str, key: odata.ODataValue, *, select: list[str] | str | None = None
    ) -> dict[str, Any]:
        """GET ``EntitySet(key)``; ``SLNotFoundError`` when it does not exist (404 / -2028)."""
        query = odata.build_query(select=select) if select else ""
        return self.get_url(self.url(f"{entity_set}{odata.key(key)}", query))

    def get_url(self, url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        """GET a URL on this Service Layer (absolute, absolute path or relative) and return the JSON body."""
        # Same guard as for next links: the session cookie never goes to another host.
        url = odata.resolve_next_link(self.base_url, url)
        return _json_of(self.request("GET", url, headers=headers), method="GET", url=url)

    def iter_pages(
        self,
        entity_set: str,
        *,
        where: str | None = None,
        select: list[str] | str | None = None,
        orderby: list[str] | str | None = None,
        top: int | None = None,
        page_size: int | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield the collection page by page (``Prefer: odata.maxpagesize``), following next links.

        ``where`` is the ``$filter`` expression (build it with ``connector.sl.odata``)."""
        query = odata.build_query(where=where, select=select, orderby=orderby, top=top)
        return iter_pages(self, self.url(entity_set, query), page_size or self.page_size)

    def iter_collection(self, entity_set: str, **options: Any) -> Iterator[dict[str, Any]]:
        """Yield the rows of ``iter_pages`` one by one."""
        for page in self.iter_pages(entity_set, **options):
            yield from page

    def count(self, entity_set: str, *, where: str | None = None) -> int:
        """``GET EntitySet/$count`` (plain-text number in both versions, §3.3)."""
        url = self.url(f"{entity_set}/$count", odata.build_query(where=where))
        text = self.request("GET", url).text.strip()
        try:
            value = json.loads(text)
            counted = envelope.inline_count(value) if isinstance(value, dict) else value
            if counted is None:
                raise TypeError("no count")
            return int(counted)
        except (ValueError, TypeError):
            raise SLServerError(
                f"GET {display_path(url)}: not a count: {text[:40]!r}", method="GET", path=display_path(url)
            ) from None

    def post(self, entity_set: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST a new entity and return SAP's 201 body. Never re-sent once it may have reached SAP."""
        return self._create(entity_set, body, headers=None).entity

    def create(self, entity_set: str, body: dict[str, Any]) -> Created:
        """POST a new entity without asking for it back (``Prefer: return-no-content``).

        SAP answers 204 with the new entity's URL in ``Location``: the whole document (about 15 KB for
        a receipt) is neither built by SAP nor read here. A Service Layer that ignores the preference
        answers 201 with the entity, which ``Created.entity`` then holds. Never re-sent once it may
        have reached SAP, like ``post``.
        """
        return self._create(entity_set, body, headers=RETURN_NO_CONTENT)

    def _create(self, entity_set: str, body: dict[str, Any], *, headers: dict[str, str] | None) -> Created:
        url = self.url(entity_set)
        response = self.request("POST", url, json_body=body, headers=headers)
        location = response.headers.get("Location")
        if response.status_code == 204:
            return Created({}, odata.key_in_location(location, entity_set))
        try:
            created = response.json()
        except ValueError:
            created = None
        if not isinstance(created, dict):
            # SAP said 201 but the body is cut off: the document exists, we just cannot read it.
            raise SLOutcomeUnknownError(
                f"POST {display_path(url)} -> HTTP {response.status_code} with an unreadable body; "
                "the outcome is unknown; look the document up before posting again",
                status=response.status_code,
                method="POST",
                path=display_path(url),
            )
        return Created(created, odata.key_in_location(location, entity_set))

    def call_reading_service(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST a service operation that only reads (e.g. ``SeriesService_GetDocumentSeries``) → JSON body.

        Retried like a GET: the operation must be listed in ``retry.IDEMPOTENT_POST_PATHS``.
        """
        if not is_idempotent("POST", operation):
            raise ValueError(f"{operation} is not a reading service operation (retry.IDEMPOTENT_POST_PATHS)")
        url = self.url(operation)
        return _json_of(self.request("POST", url, json_body=body), method="POST", url=url)

    def patch(self, entity_set: str, key: odata.ODataValue, body: dict[str, Any]) -> None:
        """PATCH absolute values onto ``EntitySet(key)`` (204). Retried: absolute values are idempotent."""
        self.request("PATCH", self.url(f"{entity_set}{odata.key(key)}"), json_body=body)


def _json_of(response: requests.Response, *, method: str, url: str) -> dict[str, Any]:
    if response.status_code == 204 or not response.content:
        return {}
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise SLServerError(
            f"{method} {display_path(url)} -> HTTP {response.status_code}: body is not a JSON object",
            status=response.status_code,
            method=method,
            path=display_path(url),
        )
    return body
