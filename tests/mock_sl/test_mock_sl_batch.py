"""OData ``$batch`` on the mock (docs/service-layer.md §3.4), pinned to SAP's batch answers.

The samples in fixtures/sl-payloads: SAP's guide (v1, a success and a failed change set; its PDF lost
the blank lines, so they are compared without them) and a real v2 answer with a 404 sub-response.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest
import requests

from connector.mock_sl.server import MockServiceLayer
from tests.support.raw_client import Client, receipt, stock

PINNED = Path(__file__).parents[2] / "fixtures" / "sl-payloads"
CRLF = "\r\n"
BOUNDARY = "batch_36522ad7-fc75-4b56-8c71-56071383e77b"
ANSWER_TYPE = re.compile(
    r"^multipart/mixed;boundary=(batchresponse_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)


# -- building requests ---------------------------------------------------------------------------
def sub(
    method: str,
    url: str,
    body: Any = None,
    content_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> list[str]:
    """One ``application/http`` part (its lines, without the delimiter)."""
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"{method} {url}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body is not None:
        lines += ["Content-Type: application/json", "", json.dumps(body)]
    else:
        lines += ["", ""]  # SAP's guide: a request without a body ends with two empty lines
    return lines


def change_set(
    *parts: list[str], boundary: str = "changeset_77162fcd-b8da-41ac-a9f8-9357efbbd621"
) -> list[str]:
    lines = [f"Content-Type: multipart/mixed;boundary={boundary}", ""]
    for part in parts:
        lines += [f"--{boundary}", *part]
    return [*lines, f"--{boundary}--"]


def batch_body(*parts: list[str]) -> str:
    lines: list[str] = []
    for part in parts:
        lines += [f"--{BOUNDARY}", *part]
    return CRLF.join([*lines, f"--{BOUNDARY}--", ""])


def post_batch(client: Client, body: str | bytes, content_type: str | None = None) -> requests.Response:
    headers = {"Content-Type": content_type or f"multipart/mixed;boundary={BOUNDARY}"}
    return client.request("POST", "$batch", data=body, headers=headers)


# -- reading answers -----------------------------------------------------------------------------
def answer_boundary(response: requests.Response) -> str:
    match = ANSWER_TYPE.match(response.headers["Content-Type"])
    assert match, response.headers["Content-Type"]
    return match.group(1)


def parts_of(text: str, boundary: str) -> list[str]:
    """The parts between ``--boundary`` delimiters (each delimiter preceded by CRLF, as MIME says)."""
    assert text.startswith(f"--{boundary}{CRLF}") and text.endswith(f"{CRLF}--{boundary}--{CRLF}")
    inner = text[len(f"--{boundary}{CRLF}") : -len(f"{CRLF}--{boundary}--{CRLF}")]
    return inner.split(f"{CRLF}--{boundary}{CRLF}")


def http_of(part: str) -> tuple[dict[str, str], int, dict[str, str], str]:
    """(MIME headers, status, HTTP headers, body) of one ``application/http`` answer part."""
    mime_text, http_text = part.split(CRLF + CRLF, 1)
    head, body = http_text.split(CRLF + CRLF, 1)
    status_line, *header_lines = head.split(CRLF)
    assert re.fullmatch(r"HTTP/1\.1 \d{3} [A-Za-z ]+", status_line), status_line
    return _headers(mime_text.split(CRLF)), int(status_line.split()[1]), _headers(header_lines), body


def _headers(lines: list[str]) -> dict[str, str]:
    return {name: value.strip() for name, _, value in (line.partition(":") for line in lines)}


def skeleton(text: str, drop: tuple[str, ...] = ()) -> list[str]:
    """An answer's lines without blank lines (SAP's guide lost them), ids and bodies generalised."""
    out: list[str] = []
    in_body = False
    for raw in text.replace(CRLF, "\n").split("\n"):
        line = re.sub(r"(batchresponse|changesetresponse)_[\w-]+", r"\1_<id>", raw)
        line = re.sub(r"^(Content-Length|Location)(:\s?).*$", r"\1\2<value>", line)
        if line.startswith("--"):
            in_body = False
        if not line.strip() or in_body or line.split(":")[0] in drop:
            continue
        if line.startswith(("{", "<Json")):
            out.append("<body>")
            in_body = True
            continue
        out.append(line)
    return out


def pinned(name: str) -> str:
    return (PINNED / name).read_text(encoding="utf-8")


def state(sl: MockServiceLayer) -> dict[str, Any]:
    """Everything a change set could have changed, as a client of the store sees it."""
    return {
        "entries": sl.store.rows("InventoryGenEntries"),
        "exits": sl.store.rows("InventoryGenExits"),
        "orders": sl.store.rows("ProductionOrders"),
        "items": sl.store.rows("Items"),
        "etags": [
            sl.store.etag("ProductionOrders", o["AbsoluteEntry"]) for o in sl.store.rows("ProductionOrders")
        ],
        "series": {n: s.next_number for n, s in sl.store.numbering.series.items()},
    }


# -- the answer's shape --------------------------------------------------------------------------
def test_batch_answer_pinned_to_sap_success_sample(client: Client) -> None:
    """A GET and a change set (a POST, a PATCH of ``$1``): the layout of SAP's success example."""
    v = client.version
    body = batch_body(
        sub("GET", f"/b1s/{v}/Items('FG-CHAIR')"),
        change_set(
            sub("POST", f"/b1s/{v}/InventoryGenEntries", receipt(101, 4), content_id="1"),
            sub("PATCH", f"/b1s/{v}/$1", {"Comments": "via $batch"}, content_id="2"),
        ),
    )
    response = post_batch(client, body)
    assert response.status_code == (202 if v == "v1" else 200)
    boundary = answer_boundary(response)
    text = response.text
    if v == "v1":
        # Every line SAP's example shows, in its order (the mock adds ETag, as on a single GET or POST).
        assert skeleton(text, drop=("ETag",)) == skeleton(pinned("batch-response-v1-success_sap-guide.txt"))
    else:
        assert response.headers["OData-Version"] == "4.0"
    get_part, set_part = parts_of(text, boundary)

    mime, status, headers, item = http_of(get_part)
    assert status == 200 and "Content-ID" not in mime
    assert mime == {"Content-Type": "application/http", "Content-Transfer-Encoding": "binary"}
    assert headers["Content-Type"] == client.sl.router.json(v, 200, {}).headers["Content-Type"]
    assert int(headers["Content-Length"]) == len(item.encode())
    assert json.loads(item)["ItemCode"] == "FG-CHAIR"

    set_head, set_text = set_part.split(CRLF + CRLF, 1)
    inner = re.fullmatch(r"Content-Type: ?multipart/mixed;boundary=(changesetresponse_[\w-]+)", set_head)
    assert inner, set_head
    (created_mime, created_status, created_headers, created), (patched_mime, patched_status, _, patched) = [
        http_of(p) for p in parts_of(set_text + CRLF, inner.group(1))
    ]
    assert (created_mime["Content-ID"], created_status) == ("1", 201)
    entry = json.loads(created)["DocEntry"]
    assert created_headers["Location"] == f"{client.sl.root(v)}/InventoryGenEntries({entry})"
    assert (patched_mime["Content-ID"], patched_status, patched) == ("2", 204, "")
    stored = client.sl.store.get("InventoryGenEntries", entry)
    assert stored is not None and stored["Comments"] == "via $batch"  # $1 named the new receipt
    # The header spelling of each version: v1 as SAP's guide prints it, v2 as the real capture.
    assert ("Content-ID:1" if v == "v1" else "Content-ID: 1") in text


@pytest.mark.parametrize("protocol", ["v2"])
def test_v2_404_subresponse_is_the_real_capture(client: Client) -> None:
    """The real v2 answer byte for byte (but the boundary, and CRLF where MIME puts line ends): a
    standalone request with Content-ID 12 answered 404, JSON indented by 3 spaces, Content-Length 210."""
    response = post_batch(client, batch_body(sub("GET", "/b1s/v2/ProductionOrders(999999)", content_id="12")))
    assert response.status_code == 200 and response.headers["OData-Version"] == "4.0"
    boundary = answer_boundary(response)
    real = pinned("batch-response-v2-subrequest-404.txt")
    error = pinned("error-404-no-matching-records_v2_batch-subresponse.json")
    real_boundary = real.split("\n", 1)[0][2:]
    head = real[: real.index("{")]
    assert real == head + error + f"--{real_boundary}--\n"  # the capture: head, the error body, the end
    expected = (
        head.replace(real_boundary, boundary).replace("\n", CRLF) + error + f"{CRLF}--{boundary}--{CRLF}"
    )
    assert response.text == expected


def test_failed_change_set_pinned_to_sap_sample_and_leaves_no_trace(client: Client) -> None:
    """Two receipts in one change set, the second refused (-5002): one error stands for the change set,
    the first receipt is rolled back (documents, stock, order, numbering) and the batch stops."""
    sl, v = client.sl, client.version
    before = state(sl)
    body = batch_body(
        sub("GET", f"/b1s/{v}/Items('FG-CHAIR')"),
        change_set(
            sub("POST", f"/b1s/{v}/InventoryGenEntries", receipt(101, 4), content_id="1"),
            # Order 107: component FOAM-LOW has 1 in stock, a receipt of 5 needs 10 → -5002.
            sub("POST", f"/b1s/{v}/InventoryGenEntries", receipt(107, 5), content_id="2"),
        ),
        sub("POST", f"/b1s/{v}/InventoryGenEntries", receipt(102, 1)),  # after the failure: never runs
    )
    response = post_batch(client, body)
    assert response.status_code == (202 if v == "v1" else 200)
    boundary = answer_boundary(response)
    if v == "v1":
        assert skeleton(response.text, drop=("ETag",)) == skeleton(
            pinned("batch-response-v1-changeset-failure_sap-guide.txt")
        )
    got, failed = parts_of(response.text, boundary)
    assert http_of(got)[1] == 200
    mime, status, headers, error_text = http_of(failed)
    assert status == 400
    assert mime.get("Content-ID") == (None if v == "v1" else "2")
    error = json.loads(error_text)["error"]
    if v == "v1":
        real = json.loads(pinned("error-400-batch-subrequest-item-exists_v1_sap-guide.json"))["error"]
        assert list(error) == list(real) == ["code", "innererror", "message"]
        assert error["innererror"] == real["innererror"] and type(error["code"]) is int
        assert error["code"] == -5002 and error["message"]["lang"] == "en-us"
        assert headers["Content-Type"] == "application/json;odata=minimalmetadata;charset=utf-8"
    else:
        assert error["code"] == "-5002" and list(error) == ["code", "details", "message"]
        assert (headers["Content-Type"], headers["OData-Version"]) == (
            "application/json;charset=utf-8",
            "4.0",
        )
    assert "Production Order no: 2026230107" in (error["message"]["value"] if v == "v1" else error["message"])
    assert state(sl) == before  # no trace of the first receipt, nor of its auto-issue
    record = sl.requests[-1]
    assert (record.path, record.status) == ("$batch", response.status_code)
    assert [(p.method, p.path, p.status) for p in record.parts] == [
        ("GET", "Items('FG-CHAIR')", 200),
        ("POST", "InventoryGenEntries", 201),  # carried out, then rolled back
        ("POST", "InventoryGenEntries", 400),
    ]
    # The store works on from the restored state: the next receipt is DocEntry 1 with the first DocNum.
    again = client.post("InventoryGenEntries", receipt(101, 4))
    assert again.status_code == 201 and again.json()["DocEntry"] == 1
    assert again.json()["DocNum"] == before["series"][again.json()["Series"]]
    assert (
        client.get("InventoryGenEntries", params={"$filter": "DocEntry eq 1"}).json()["value"][0]["DocEntry"]
        == 1
    )


def test_a_failed_request_outside_a_change_set_stops_the_batch(client: Client) -> None:
    v = client.version
    body = batch_body(
        sub("GET", "ProductionOrders(999999)"),  # a path relative to the service root
        sub("POST", f"/b1s/{v}/InventoryGenEntries", receipt(101, 1)),
    )
    response = post_batch(client, body)
    parts = parts_of(response.text, answer_boundary(response))
    assert [http_of(p)[1] for p in parts] == [404]
    assert client.sl.store.rows("InventoryGenEntries") == []


def test_request_line_with_http_version_and_absolute_url(client: Client) -> None:
    v = client.version
    body = batch_body(
        sub("GET", f"/b1s/{v}/Items('FG-CHAIR')?$select=ItemCode HTTP/1.1"),
        sub("GET", f"{client.sl.root(v)}/Items('WOOD-LEG')?$select=ItemCode,ItemName HTTP/1.1"),
    )
    response = post_batch(client, body)
    found = [json.loads(http_of(p)[3]) for p in parts_of(response.text, answer_boundary(response))]
    assert [sorted(k for k in f if not k.startswith(("odata.", "@odata."))) for f in found] == [
        ["ItemCode"],
        ["ItemCode", "ItemName"],
    ]
    assert [p.query for p in client.sl.requests[-1].parts] == [
        {"$select": "ItemCode"},
        {"$select": "ItemCode,ItemName"},
    ]


# -- refusals ------------------------------------------------------------------------------------
def assert_incomplete(client: Client, response: requests.Response) -> None:
    """400 -1000 "Incomplete Batch Request Body!" in the version's envelope (v1 as SAP's guide shows)."""
    assert response.status_code == 400
    error = response.json()["error"]
    if client.version == "v1":
        real = json.loads(pinned("error-400-batch-request-incomplete_v1_sap-guide.json"))["error"]
        assert error == real
    else:
        assert (error["code"], error["message"]) == ("-1000", "Incomplete Batch Request Body!")


MALFORMED = {
    "no closing delimiter": batch_body(sub("GET", "Items('FG-CHAIR')")).replace(f"--{BOUNDARY}--", ""),
    "no part": f"--{BOUNDARY}--{CRLF}",
    "no empty line after the sub-request's headers": CRLF.join(
        [f"--{BOUNDARY}", "Content-Type: application/http", "", "GET Items('FG-CHAIR')", f"--{BOUNDARY}--"]
    ),
    "no request line": CRLF.join(
        [f"--{BOUNDARY}", "Content-Type: application/http", "", "", f"--{BOUNDARY}--"]
    ),
    "not an application/http part": CRLF.join(
        [f"--{BOUNDARY}", "Content-Type: text/plain", "", "hi", f"--{BOUNDARY}--"]
    ),
    "a change set in a change set": batch_body(
        change_set(change_set(sub("POST", "X", {}, content_id="1"), boundary="cs2"))
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_body_400_1000_and_nothing_runs(client: Client, case: str) -> None:
    before = state(client.sl)
    assert_incomplete(client, post_batch(client, MALFORMED[case]))
    assert state(client.sl) == before and client.sl.requests[-1].parts == ()


def test_not_multipart_400_1000(client: Client) -> None:
    assert_incomplete(client, post_batch(client, "{}", content_type="application/json"))
    assert_incomplete(
        client, post_batch(client, batch_body(sub("GET", "Items")), content_type="multipart/mixed")
    )


def test_get_in_a_change_set_is_refused_and_nothing_runs(client: Client) -> None:
    v = client.version
    before = state(client.sl)
    body = batch_body(
        change_set(
            sub("POST", f"/b1s/{v}/InventoryGenEntries", receipt(101, 4), content_id="1"),
            sub("GET", f"/b1s/{v}/Items('FG-CHAIR')", content_id="2"),
        )
    )
    assert_incomplete(client, post_batch(client, body))
    assert state(client.sl) == before


def test_content_id_mandatory_in_v2_change_sets_optional_in_v1(client: Client) -> None:
    v = client.version
    body = batch_body(change_set(sub("POST", f"/b1s/{v}/InventoryGenEntries", receipt(101, 4))))
    response = post_batch(client, body)
    if v == "v2":
        assert response.status_code == 400
        assert client.error(response) == ("244", "Content ID should be specified in each change set request.")
        assert client.sl.store.rows("InventoryGenEntries") == []
    else:
        assert response.status_code == 202
        (set_part,) = parts_of(response.text, answer_boundary(response))
        assert "Content-ID" not in set_part and "HTTP/1.1 201 Created" in set_part
        assert len(client.sl.store.rows("InventoryGenEntries")) == 1


def test_no_session_401_and_nothing_runs(client: Client) -> None:
    client.cookies = {}
    body = batch_body(change_set(sub("POST", "InventoryGenEntries", receipt(101, 4), content_id="1")))
    response = post_batch(client, body)
    assert response.status_code == 401 and client.error(response) == (
        "301",
        "Invalid session or session already timeout.",
    )
    assert client.sl.store.rows("InventoryGenEntries") == []


def test_sub_requests_follow_the_single_request_rules(client: Client) -> None:
    """Prefer, If-Match and body checks reach each sub-request as they reach a single request."""
    etag = client.get("ProductionOrders(101)").headers["ETag"]
    before = stock(client.sl, "FG-CHAIR", "01")
    body = batch_body(
        change_set(
            sub(
                "POST",
                "InventoryGenEntries",
                receipt(101, 1),
                content_id="a",
                headers={"Prefer": "return-no-content"},
            ),
            sub(
                "PATCH", "ProductionOrders(101)", {"Remarks": "x"}, content_id="b", headers={"If-Match": etag}
            ),
        ),
    )
    response = post_batch(client, body)
    (failed,) = parts_of(response.text, answer_boundary(response))
    # The receipt changed order 101, so the ETag sent is stale: 412 -2039, and the receipt is undone.
    _, status, _, error = http_of(failed)
    assert status == 412 and json.loads(error)["error"]["code"] in (-2039, "-2039")
    assert client.sl.store.rows("InventoryGenEntries") == [] and stock(client.sl, "FG-CHAIR", "01") == before
    first = client.sl.requests[-1].parts[0]
    assert (first.status, first.path) == (204, "InventoryGenEntries")


def test_fault_on_batch_commits_then_drops(client: Client) -> None:
    """Fault injection works on $batch like on any request: carried out, then the answer is lost."""
    client.sl.faults.commit_then_drop("$batch")
    body = batch_body(change_set(sub("POST", "InventoryGenEntries", receipt(101, 4), content_id="1")))
    with pytest.raises(requests.ConnectionError):
        post_batch(client, body)
    record = client.sl.requests[-1]
    assert (record.path, record.status, record.faults) == ("$batch", None, ("commit_then_drop",))
    assert [p.status for p in record.parts] == [201]
    assert len(client.sl.store.rows("InventoryGenEntries")) == 1


def test_a_change_set_holds_the_store_lock_between_its_requests(client: Client, monkeypatch: Any) -> None:
    """Between two sub-requests of a change set no other request can take the store: none sees half of it."""
    sl = client.sl
    between, probed = threading.Event(), threading.Event()
    seen: list[bool] = []
    carry_out = sl.carry_out

    def first_then_wait(request: Any) -> Any:
        response = carry_out(request)
        if request.method == "POST" and not between.is_set():
            between.set()
            assert probed.wait(5)
        return response

    monkeypatch.setattr(sl, "carry_out", first_then_wait)
    v = client.version
    body = batch_body(
        change_set(
            sub("POST", f"/b1s/{v}/InventoryGenEntries", receipt(101, 1), content_id="1"),
            sub("PATCH", f"/b1s/{v}/$1", {"Comments": "second"}, content_id="2"),
        )
    )
    answers: list[requests.Response] = []
    batch = threading.Thread(target=lambda: answers.append(post_batch(client, body)))
    batch.start()
    assert between.wait(5)
    seen.append(sl.store.lock.acquire(blocking=False))  # from another thread: must be refused
    if seen[0]:
        sl.store.lock.release()  # (the test fails below; let the batch finish meanwhile)
    probed.set()
    batch.join(5)
    assert seen == [False] and answers[0].status_code in (200, 202)
    assert sl.store.rows("InventoryGenEntries")[0]["Comments"] == "second"


def test_continue_on_error_carries_on_past_a_failure(client: Client) -> None:
    v = client.version
    body = batch_body(
        sub("GET", f"/b1s/{v}/ProductionOrders(999999)"),
        sub("POST", f"/b1s/{v}/InventoryGenEntries", receipt(101, 1)),
    )
    headers = {"Content-Type": f"multipart/mixed;boundary={BOUNDARY}", "Prefer": "odata.continue-on-error"}
    response = client.request("POST", "$batch", data=body, headers=headers)
    assert [http_of(p)[1] for p in parts_of(response.text, answer_boundary(response))] == [404, 201]
    assert len(client.sl.store.rows("InventoryGenEntries")) == 1
