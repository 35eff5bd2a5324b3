"""OData ``$batch``: ``POST {root}/$batch`` with a ``multipart/mixed`` body (docs/service-layer.md §3.4).

Transport-free like ``routes``: the server hands over the body and a function that carries out one
sub-request exactly as it carries out a single request (the same ``Router``, the same rules), and gets
the multipart answer back. What the real Service Layer does, and where the mock had to choose:

- Parts are ``application/http`` requests (``METHOD /b1s/v1/<path>``, with or without ``HTTP/1.1``;
  a path relative to the service root and an absolute URL work too) or change sets (a nested
  ``multipart/mixed``). A change set is atomic: the store's lock is held from its first sub-request to
  its last and the store is restored to its snapshot when one fails, so no other request ever sees half
  of it. One error sub-response stands for the failed change set, and the batch stops there: later
  parts are not carried out. A failing part outside a change set stops the batch too.
- Answers: 202 (v1) / 200 (v2) whatever the sub-requests did; ``multipart/mixed;boundary=
  batchresponse_<uuid>``; change sets as ``changesetresponse_<uuid>`` parts echoing each ``Content-ID``.
- ``$<Content-ID>`` at the start of a path names the entity created earlier in the same change set.
- A malformed body: 400 ``-1000 "Incomplete Batch Request Body!"``, nothing carried out.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from connector.mock_sl import protocol
from connector.mock_sl.protocol import SapError
from connector.mock_sl.routes import Request, Response
from connector.mock_sl.store import Store

INCOMPLETE = "Incomplete Batch Request Body!"  # SAP-GUIDE §3.9, code -1000
INCOMPLETE_CODE = -1000
#: ◐ v2 (OData V4) refuses a change-set request without ``Content-ID`` with this code and text, as
#: integrators quote it (SL 10.0 PL02, B1SLayer issue #8); the whole batch is refused, nothing runs.
CONTENT_ID_MISSING = "Content ID should be specified in each change set request."
CONTENT_ID_MISSING_CODE = 244
CRLF = "\r\n"
_VERSION_ROOT = re.compile(r"^/?b1s/v[12](?:/|$)")
_METHOD = re.compile(r"^[A-Z]+$")


@dataclass
class SubRequest:
    """One ``application/http`` part: the request line's method and URL, its headers and body."""

    method: str
    url: str
    headers: Message[str, str]
    body: Any  # parsed JSON, None when empty, ``ValueError`` when it is not JSON (as the server does)
    content_id: str | None = None


@dataclass
class ChangeSet:
    """A nested ``multipart/mixed`` part: its requests succeed or fail together."""

    requests: list[SubRequest] = field(default_factory=list)


@dataclass(frozen=True)
class Executed:
    """A sub-request as it was carried out (for the mock's request records)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int


#: Carries out one sub-request as a single request would be (the server's dispatch).
Execute = Callable[[Request], Response]


def serve(
    version: str,
    content_type: str | None,
    raw: bytes,
    *,
    store: Store,
    root: str,
    execute: Execute,
    error: Callable[[str, int, int, str], Response],
    prefer: str | None = None,
) -> tuple[Response, list[Executed]]:
    """The answer to ``POST {root}/$batch`` and the sub-requests carried out, in order.

    ◐ ``Prefer: odata.continue-on-error`` (undocumented by SAP; b1sl reports SL 10.0 honouring it for
    parts outside change sets) carries on past a failure instead of stopping. The crash b1sl reports
    when it meets a failing change set is not imitated: the mock carries on there too.
    """
    try:
        parts = parse(version, content_type, raw)
    except SapError as exc:
        return _refused(version, exc, error), []
    go_on = "odata.continue-on-error" in (prefer or "")
    return _Run(version, store, root, execute, go_on).answer(parts)


# -- reading the request ---------------------------------------------------------------------------
def parse(version: str, content_type: str | None, raw: bytes) -> list[SubRequest | ChangeSet]:
    """The batch's parts; SapError 400 -1000 when the body is not a complete batch (nothing runs then)."""
    boundary = _boundary(content_type)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _incomplete() from None
    parts: list[SubRequest | ChangeSet] = []
    for headers, content in _split(text, boundary):
        if headers.get_content_type() == "multipart/mixed":
            change_set = ChangeSet()
            for inner_headers, inner in _split(content, _boundary(headers.get("Content-Type"))):
                if inner_headers.get_content_type() != "application/http":
                    raise _incomplete()  # ◐ change sets do not nest (OData), nor carry other parts
                sub = _sub_request(inner_headers, inner)
                if sub.method == "GET":
                    # ASSUMPTION: SAP's answer to a GET in a change set (OData forbids it) was not
                    # captured; the mock refuses the batch as malformed before anything runs.
                    raise _incomplete()
                if sub.content_id is None and version == "v2":
                    raise SapError(400, CONTENT_ID_MISSING_CODE, CONTENT_ID_MISSING)
                change_set.requests.append(sub)
            parts.append(change_set)
        elif headers.get_content_type() == "application/http":
            parts.append(_sub_request(headers, content))
        else:
            raise _incomplete()
    return parts


def _incomplete() -> SapError:
    return SapError(400, INCOMPLETE_CODE, INCOMPLETE)


def _boundary(content_type: str | None) -> str:
    message: Message[str, str] = Message()
    message["Content-Type"] = content_type or ""
    boundary = message.get_param("boundary")
    if message.get_content_type() != "multipart/mixed" or not isinstance(boundary, str) or not boundary:
        # ASSUMPTION: SAP's answer to a $batch that is not multipart/mixed was not captured.
        raise _incomplete()
    return boundary


def _split(text: str, boundary: str) -> list[tuple[Message[str, str], str]]:
    """(MIME headers, content) of each part between ``--boundary`` lines up to ``--boundary--``.

    Lines may end in CRLF (as MIME says) or a bare LF. Without the closing delimiter, or with no part
    at all, the body is incomplete.
    """
    parts: list[list[str]] = []
    current: list[str] | None = None
    closed = False
    for line in text.split("\n"):
        bare = line.rstrip("\r").rstrip(" \t")
        if bare == f"--{boundary}":
            if current is not None:
                parts.append(current)
            current = []
        elif bare == f"--{boundary}--":
            if current is not None:
                parts.append(current)
            closed = True
            break
        elif current is not None:
            current.append(line.rstrip("\r"))
    if not closed or not parts:
        raise _incomplete()
    return [_headers_and_rest(lines) for lines in parts]


def _headers_and_rest(lines: list[str]) -> tuple[Message[str, str], str]:
    """Header lines up to the first empty line, and everything after it (which must exist)."""
    if "" not in lines:
        # SAP is strict: "there should be two '\r\n' between sub-request header and content" (◐).
        raise _incomplete()
    end = lines.index("")
    headers: Message[str, str] = Message()
    for line in lines[:end]:
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise _incomplete()
        headers[name.strip()] = value.strip()
    return headers, "\n".join(lines[end + 1 :])


def _sub_request(mime: Message[str, str], content: str) -> SubRequest:
    lines = content.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        raise _incomplete()
    words = lines[0].split()
    if len(words) not in (2, 3) or not _METHOD.match(words[0]):
        raise _incomplete()
    if len(words) == 3 and not words[2].startswith("HTTP/"):
        raise _incomplete()
    headers, text = _headers_and_rest(lines[1:])
    text = text.strip()
    body: Any = None
    if text:
        try:
            body = json.loads(text)
        except ValueError:
            body = ValueError
    return SubRequest(words[0], words[1], headers, body, mime.get("Content-ID"))


# -- carrying it out -------------------------------------------------------------------------------
class _Run:
    """One batch being carried out: the answer's parts so far and the sub-requests that ran."""

    def __init__(self, version: str, store: Store, root: str, execute: Execute, go_on: bool) -> None:
        self.version = version
        self.go_on = go_on  # Prefer: odata.continue-on-error
        self.store = store
        self.root = root
        self.execute = execute
        self.executed: list[Executed] = []
        self.writer = _Writer(version)

    def answer(self, parts: list[SubRequest | ChangeSet]) -> tuple[Response, list[Executed]]:
        boundary = f"batchresponse_{uuid.uuid4()}"
        pieces: list[bytes] = []
        for part in parts:
            if isinstance(part, SubRequest):
                response = self._carry_out(part, {})
                # v1 echoes no Content-ID outside a change set (SAP-GUIDE §3.9: standalone GET answers
                # carry none). ◐ v2 (OData V4 allows a Content-ID on any request) echoes one that was
                # sent: the real v2 capture has ``Content-ID: 12`` on a 404 whose text is a GET's.
                pieces.append(self.writer.part(response, part.content_id if self.version == "v2" else None))
                failed = response.status >= 400
            else:
                piece, failed = self._change_set(part)
                pieces.append(piece)
            if failed and not self.go_on:
                break  # the batch stops at its first failure (SAP-GUIDE §3.9)
        body = b"".join(f"--{boundary}{CRLF}".encode() + piece + CRLF.encode() for piece in pieces)
        body += f"--{boundary}--{CRLF}".encode()
        headers = {"Content-Type": f"multipart/mixed;boundary={boundary}"}
        if self.version == "v2":
            headers["OData-Version"] = "4.0"  # ◐ as on every v2 answer
        # 202 Accepted in v1, 200 in v2, even when a sub-request failed (SAP-GUIDE §3.9).
        return Response(202 if self.version == "v1" else 200, body, headers), self.executed

    def _change_set(self, change_set: ChangeSet) -> tuple[bytes, bool]:
        """All of the change set, or none of it: (the answer's part, whether it failed).

        The store's (re-entrant) lock is held from the snapshot to the last sub-request, so concurrent
        requests wait and never see half a change set; each sub-request takes the same lock again in
        ``Router``, which a re-entrant lock allows on this thread.
        """
        answers: list[tuple[SubRequest, Response]] = []
        created: dict[str, str] = {}
        with self.store.lock:
            saved = self.store.snapshot()
            try:
                for sub in change_set.requests:
                    response = self._carry_out(sub, created)
                    answers.append((sub, response))
                    if response.status >= 400:
                        self.store.restore(saved)
                        break
                    location = response.headers.get("Location", "")
                    if sub.content_id is not None and location.startswith(f"{self.root}/"):
                        created[sub.content_id] = location[len(self.root) + 1 :]
            except BaseException:
                self.store.restore(saved)  # a bug of the mock's must not leave half a change set
                raise
        sub, response = answers[-1]
        if response.status >= 400:
            # One error part stands for the whole change set. The v2 capture echoes the failed
            # request's Content-ID; SAP's v1 example shows none (◐ both as captured).
            content_id = sub.content_id if self.version == "v2" else None
            return self.writer.part(response, content_id), True
        return self.writer.change_set(answers), False

    def _carry_out(self, sub: SubRequest, created: dict[str, str]) -> Response:
        path, raw_query = _target(sub.url, created)
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        request = Request(sub.method, self.version, path, raw_query, query, sub.headers, sub.body)
        response = self.execute(request)
        body = None if sub.body is ValueError else sub.body
        self.executed.append(Executed(sub.method, path, query, body, response.status))
        return response


def _target(url: str, created: dict[str, str]) -> tuple[str, str]:
    """(path after the service root, percent-decoded; raw query) of a sub-request's URL.

    ``/b1s/v1/Items('A')``, ``Items('A')`` and ``https://host:50000/b1s/v1/Items('A')`` name the same
    thing. ASSUMPTION: the batch's own root decides the protocol whatever ``/b1s/vN/`` the line names (a
    client such as b1sl writes ``/b1s/v2/`` into every line). ``$n`` at the start names the entity that
    the change set's request with ``Content-ID: n`` created (OData), e.g. ``PATCH /b1s/v1/$1``.
    """
    split = urlsplit(url)
    path = _VERSION_ROOT.sub("", split.path, count=1).lstrip("/")
    if path.startswith("$"):
        head, slash, rest = path[1:].partition("/")
        if head in created:
            path = created[head] + slash + rest
    return unquote(path), split.query


# -- writing the answer ----------------------------------------------------------------------------
class _Writer:
    """The multipart answer in the version's spelling.

    ◐ Lines end in CRLF (MIME; B1SLayer, used against real SLs for years, splits SAP's answers on
    ``\\r\\n``). Headers are ``Name:value`` in v1 (SAP's guide prints every batch header so) and ``Name:
    value`` in v2 (the real v2 capture; b1sl, checked against SL 10.0, looks for ``Content-Type:
    multipart/mixed``).
    """

    def __init__(self, version: str) -> None:
        self.version = version
        self.separator = ":" if version == "v1" else ": "

    def header(self, name: str, value: str) -> str:
        return f"{name}{self.separator}{value}"

    def part(self, response: Response, content_id: str | None) -> bytes:
        """One ``application/http`` part holding ``response``."""
        head = [
            self.header("Content-Type", "application/http"),
            self.header("Content-Transfer-Encoding", "binary"),
        ]
        if content_id is not None:
            head.append(self.header("Content-ID", content_id))
        return (CRLF.join(head) + CRLF + CRLF).encode() + self.http(response)

    def change_set(self, answers: list[tuple[SubRequest, Response]]) -> bytes:
        """A ``changesetresponse_<uuid>`` part: one part per request, each echoing its Content-ID."""
        boundary = f"changesetresponse_{uuid.uuid4()}"
        out = (self.header("Content-Type", f"multipart/mixed;boundary={boundary}") + CRLF + CRLF).encode()
        for sub, response in answers:
            out += f"--{boundary}{CRLF}".encode() + self.part(response, sub.content_id) + CRLF.encode()
        return out + f"--{boundary}--".encode()

    def http(self, response: Response) -> bytes:
        """``HTTP/1.1 201 Created``, its headers, an empty line and the body.

        Content-Type and Content-Length lead and OData-Version ends the headers, as in SAP's samples.
        """
        body = self.body(response)
        lines = [f"HTTP/1.1 {response.status} {HTTPStatus(response.status).phrase}"]
        headers = response.headers
        if "Content-Type" in headers:
            lines.append(self.header("Content-Type", headers["Content-Type"]))
        if body:
            lines.append(self.header("Content-Length", str(len(body))))
        for name, value in headers.items():
            if name not in ("Content-Type", "Content-Length", "OData-Version"):
                lines.append(self.header(name, value))
        if "OData-Version" in headers:
            lines.append(self.header("OData-Version", headers["OData-Version"]))
        return (CRLF.join(lines) + CRLF + CRLF).encode() + body

    def body(self, response: Response) -> bytes:
        """The sub-response's body as SAP writes it inside a batch.

        ◐ From the real v2 capture: JSON indented by 3 spaces in v2 too (a single v2 answer uses tabs),
        and a final newline counted in Content-Length (210 for that 209-character error). SAP's v1
        example adds ``"innererror": {"context": null, "trace": null}`` to errors inside a batch.
        """
        if not response.body:
            return b""
        if "json" not in response.headers.get("Content-Type", ""):
            return response.body + b"\n"
        document = json.loads(response.body)
        if self.version == "v1" and response.status >= 400:
            document = _with_innererror(document)
        return _dumps_in_batch(document) + b"\n"


def _with_innererror(document: Any) -> Any:
    """A v1 error with ``innererror`` between ``code`` and ``message``, as SAP's batch examples show."""
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return document
    out: dict[str, Any] = {}
    for name, value in error.items():
        out[name] = value
        if name == "code":
            out["innererror"] = {"context": None, "trace": None}
    return {**document, "error": out}


def _dumps_in_batch(document: Any) -> bytes:
    return json.dumps(document, indent=3, separators=(",", " : "), ensure_ascii=False).encode("utf-8")


def _refused(version: str, exc: SapError, error: Callable[[str, int, int, str], Response]) -> Response:
    """The whole batch refused (nothing ran): the version's error; v1 with ``innererror`` as SAP shows."""
    response = error(version, exc.status, exc.code, exc.message)
    if version == "v1":
        body = _with_innererror(json.loads(response.body))
        return Response(response.status, protocol.dumps(version, body), response.headers)
    return response
