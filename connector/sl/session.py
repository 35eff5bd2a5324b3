"""One Service Layer session per client: Login/Logout, cookies, sliding expiry, locked re-login.

The session is shared by every thread of a client. Logins happen under one lock, and each
request remembers the *generation* of the session it used, so when eight threads hit an expired
session (or get 401 together) exactly one of them logs in and the others reuse the result.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from connector.errors import ConfigError

logger = logging.getLogger(__name__)

#: SAP's default when a Login body lacks SessionTimeout (docs/service-layer.md §1.4).
DEFAULT_SESSION_TIMEOUT_MIN = 30


@dataclass(frozen=True)
class LoginResult:
    """What a Login returned: the cookies to send back and the body's Version / SessionTimeout."""

    cookies: dict[str, str]
    version: str | None
    session_timeout_min: float

    def __repr__(self) -> str:
        # Cookie values are the session: never print them.
        return f"LoginResult(cookies={sorted(self.cookies)}, version={self.version!r})"


@dataclass(frozen=True)
class SessionTicket:
    """The cookies one request sends and the generation they belong to (for 401 bookkeeping)."""

    generation: int
    cookies: dict[str, str]

    def __repr__(self) -> str:
        return f"SessionTicket(generation={self.generation}, cookies={sorted(self.cookies)})"


class SessionManager:
    """Holds the current B1SESSION/ROUTEID, logs in when needed, and knows when the session expires."""

    def __init__(
        self,
        *,
        do_login: Callable[[], LoginResult],
        do_logout: Callable[[dict[str, str]], None],
        clock: Callable[[], float],
        margin_s: float,
    ) -> None:
        self._do_login = do_login
        self._do_logout = do_logout
        self._clock = clock
        self._margin_s = margin_s
        self._lock = threading.Lock()
        self._cookies: dict[str, str] | None = None
        self._generation = 0
        self._expires_at = 0.0
        self._timeout_s = DEFAULT_SESSION_TIMEOUT_MIN * 60.0
        self.version: str | None = None

    def __repr__(self) -> str:
        return f"SessionManager(generation={self._generation}, logged_in={self._cookies is not None})"

    @property
    def logged_in(self) -> bool:
        """Whether a session is currently held (it may still have expired on SAP's side)."""
        return self._cookies is not None

    def login(self) -> SessionTicket:
        """Log in now (replacing any current session) and return the new ticket."""
        with self._lock:
            return self._login_locked(reason="explicit")

    def ticket(self) -> SessionTicket:
        """The current session, logging in first if there is none or it is about to expire."""
        with self._lock:
            if self._cookies is None:
                return self._login_locked(reason="no_session")
            if self._clock() >= self._expires_at:
                # Re-login ahead of SessionTimeout instead of waiting for the 401 (§1.4).
                return self._login_locked(reason="expiring")
            return SessionTicket(self._generation, dict(self._cookies))

    def renew(self, stale: SessionTicket) -> SessionTicket:
        """After a 401 with ``stale``: log in once, unless another thread already did."""
        with self._lock:
            if self._cookies is not None and self._generation != stale.generation:
                return SessionTicket(self._generation, dict(self._cookies))
            return self._login_locked(reason="401")

    def touch(self, used: SessionTicket, started_at: float) -> None:
        """Slide the expiry: SAP's timeout counts from the last request it served (§1.4, FP2608)."""
        with self._lock:
            if used.generation == self._generation and self._cookies is not None:
                self._expires_at = max(self._expires_at, self._deadline(started_at))

    def logout(self) -> None:
        """Log out if logged in; the local session is forgotten even if SAP's answer fails."""
        with self._lock:
            cookies, self._cookies = self._cookies, None
            self._generation += 1
            if cookies is not None:
                self._do_logout(cookies)

    def _deadline(self, started_at: float) -> float:
        return started_at + max(0.0, self._timeout_s - self._margin_s)

    def _login_locked(self, *, reason: str) -> SessionTicket:
        started_at = self._clock()
        result = self._do_login()
        self._cookies = dict(result.cookies)
        self._generation += 1
        self.version = result.version
        self._timeout_s = float(result.session_timeout_min) * 60.0
        self._expires_at = self._deadline(started_at)
        # After the session is stored, so closing the client still logs it out.
        refuse_margin_beyond_timeout(self._margin_s, result.session_timeout_min)
        logger.info(
            "sl.login",
            extra={
                "event": "sl.login",
                "reason": reason,
                "generation": self._generation,
                "sl_version": result.version,
                "session_timeout_min": result.session_timeout_min,
            },
        )
        return SessionTicket(self._generation, dict(self._cookies))


def refuse_margin_beyond_timeout(margin_s: float, session_timeout_min: float) -> None:
    """``B1_SESSION_MARGIN_S`` must be shorter than the session timeout SAP reports at Login.

    Otherwise every request would find the session "about to expire" and log in again: a login storm
    that costs a licence seat each time. Only SAP knows the timeout, so this is checked at Login.
    """
    timeout_s = session_timeout_min * 60.0
    if margin_s >= timeout_s:
        raise ConfigError(
            f"B1_SESSION_MARGIN_S ({margin_s:g} s) is not shorter than the session timeout this Service "
            f"Layer reports at Login ({session_timeout_min:g} min = {timeout_s:g} s): set "
            f"B1_SESSION_MARGIN_S below {timeout_s:g}, e.g. {min(60.0, timeout_s / 4):g}"
        )


def login_body(company_db: str, username: str, password: str) -> dict[str, str]:
    """The Login body (§1.1). Built at send time only; never stored, logged or put in an error."""
    return {"CompanyDB": company_db, "UserName": username, "Password": password}


def parse_login(body: object, response_cookies: dict[str, str]) -> LoginResult:
    """Read a 200 Login answer: cookies from Set-Cookie, else the body's SessionId (§1.2)."""
    data = body if isinstance(body, dict) else {}
    cookies: dict[str, str] = {}
    session_id = response_cookies.get("B1SESSION") or data.get("SessionId")
    if not session_id:
        raise ValueError("the Login answer carries neither a B1SESSION cookie nor a SessionId")
    cookies["B1SESSION"] = str(session_id)
    # ROUTEID is set by Apache for stickiness; optional but recommended to send back (§1.2).
    if response_cookies.get("ROUTEID"):
        cookies["ROUTEID"] = response_cookies["ROUTEID"]
    timeout = data.get("SessionTimeout")
    try:
        timeout_min = float(timeout) if timeout is not None else float(DEFAULT_SESSION_TIMEOUT_MIN)
    except (TypeError, ValueError):
        timeout_min = float(DEFAULT_SESSION_TIMEOUT_MIN)
    if timeout_min <= 0:
        timeout_min = float(DEFAULT_SESSION_TIMEOUT_MIN)
    version = data.get("Version")
    return LoginResult(
        cookies=cookies, version=None if version is None else str(version), session_timeout_min=timeout_min
    )
