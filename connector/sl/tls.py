"""Why a TLS connection to the Service Layer failed, in words that name the cause and the fix.

requests wraps the ssl module's error several times (``requests.SSLError`` → urllib3
``MaxRetryError`` → urllib3 ``SSLError`` → ``ssl.SSLCertVerificationError``); the innermost ssl error
says what happened: OpenSSL's verify code for a certificate that was checked and refused, or the
handshake's reason when there was no TLS peer at all. Each cause has its own fix, so each gets its own
message: the host name, the issuing CA, the validity dates, the CA file, or a port that is not TLS.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from urllib.parse import urlsplit

#: OpenSSL X509_V_ERR_* codes (x509_vfy.h) grouped by what the user does about them.
HOSTNAME_MISMATCH = frozenset({62, 64})  # HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH
NOT_YET_VALID_OR_EXPIRED = frozenset({9, 10})  # CERT_NOT_YET_VALID, CERT_HAS_EXPIRED
UNKNOWN_ISSUER = frozenset({2, 18, 19, 20, 21})  # issuer unknown, self-signed (in chain), leaf unverifiable

#: Handshake reasons meaning the other side answered, but not in TLS (an http:// port, a proxy page).
NOT_TLS_REASONS = frozenset(
    {
        "WRONG_VERSION_NUMBER",
        "UNKNOWN_PROTOCOL",
        "HTTP_REQUEST",
        "PACKET_LENGTH_TOO_LONG",
        "RECORD_LAYER_FAILURE",
    }
)
#: Reasons OpenSSL gives when the CA file is not a PEM certificate list.
BAD_CA_FILE_REASONS = frozenset(
    {"NO_CERTIFICATE_OR_CRL_FOUND", "PEM_LIB", "NO_START_LINE", "BAD_BASE64_DECODE"}
)


def ca_bundle_problem(path: Path) -> str | None:
    """What stops ``path`` from serving as a CA bundle (missing, unreadable, no PEM certificate), or None."""
    if not path.exists():
        return f"file {path} does not exist"
    try:
        ssl.create_default_context(cafile=str(path))
    except ssl.SSLError as exc:
        return f"file {path} holds no usable PEM certificate ({exc.reason or exc})"
    except OSError as exc:  # permission denied, a folder, ...
        return f"file {path} cannot be read ({exc.strerror or exc})"
    return None


def innermost_ssl_error(exc: BaseException) -> ssl.SSLError | None:
    """The ``ssl.SSLError`` deepest in ``exc``'s chain (causes, contexts, ``reason`` and ``args``)."""
    found: ssl.SSLError | None = None
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            found = current  # keep walking: urllib3 re-wraps, the last one met is the innermost
        stack.extend(
            [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        )
    return found


def describe_tls_failure(exc: BaseException, *, url: str, verify: bool | str) -> str:
    """One sentence: what failed in the TLS connection to ``url`` and what to set or ask for."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    where = f"{host}:{parts.port or 443}"
    bundle = verify if isinstance(verify, str) else None
    if bundle is not None:
        problem = ca_bundle_problem(Path(bundle))
        if problem is not None:
            return (
                f"TLS: B1_CA_BUNDLE cannot be used: {problem}; point it at the PEM file of the "
                "Service Layer's CA"
            )
    cause = innermost_ssl_error(exc)
    if isinstance(cause, ssl.SSLCertVerificationError):
        code, detail = cause.verify_code, cause.verify_message or str(cause)
        if code in HOSTNAME_MISMATCH:
            return (
                f"TLS: the Service Layer's certificate is not issued for {host!r} ({detail}); write the host "
                "name the certificate names in B1_SL_URL, or have the certificate reissued for this name"
            )
        if code in NOT_YET_VALID_OR_EXPIRED:
            return (
                f"TLS: the certificate of {where} is outside its validity dates ({detail}); renew it on the "
                "Service Layer server, or correct this machine's clock if that is wrong"
            )
        if code in UNKNOWN_ISSUER:
            if bundle is not None:
                return (
                    f"TLS: the certificate of {where} was not issued by the CA in B1_CA_BUNDLE ({bundle}) "
                    f"({detail}); put the CA that issued the Service Layer's certificate in that file"
                )
            return (
                f"TLS: the certificate of {where} is not issued by a CA this machine trusts ({detail}); set "
                "B1_CA_BUNDLE to the PEM file of the Service Layer's CA (for a self-signed certificate: the "
                "certificate itself)"
            )
        return f"TLS: the certificate of {where} was refused ({detail}); check it, or set B1_CA_BUNDLE"
    reason = getattr(cause, "reason", None)
    if reason in NOT_TLS_REASONS:
        return (
            f"TLS: {where} does not answer in TLS ({reason}): B1_SL_URL says https:// but that port serves "
            "plain HTTP; use the Service Layer's https port (50000 by default), or http:// if it is "
            "really meant to be plain"
        )
    if reason in BAD_CA_FILE_REASONS and bundle is not None:
        return (
            f"TLS: B1_CA_BUNDLE ({bundle}) holds no usable PEM certificate ({reason}); point it at the "
            "PEM file of the Service Layer's CA"
        )
    return (
        f"TLS handshake with {where} failed ({reason or cause or exc}); check the port in B1_SL_URL "
        "and, for a self-signed Service Layer, B1_CA_BUNDLE"
    )
