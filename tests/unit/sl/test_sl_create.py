"""``create``: a POST that asks SAP not to send the new entity back (``Prefer: return-no-content``).

SAP answers 204 and names the new entity in ``Location``; a Service Layer that ignores the preference
answers 201 with the entity, which is then used as it is.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import responses
from responses import matchers

from connector.errors import SLOutcomeUnknownError
from connector.sl.client import Created, ServiceLayerClient
from connector.sl.odata import key_in_location
from tests.support.sl_unit import login_ok

Factory = Callable[..., ServiceLayerClient]
RECEIPT = {"DocumentLines": [{"BaseType": 202, "BaseEntry": 3585, "Quantity": 10}], "U_ExtRef": "K-1"}


def test_create_asks_for_no_content_and_reads_the_doc_entry_from_location(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    url = f"{root}/InventoryGenEntries"
    mocked.add(login_ok(root, version))
    mocked.add(
        responses.POST,
        url,
        status=204,
        headers={"Location": f"{url}(1234)", "Preference-Applied": "return-no-content"},
        match=[
            matchers.json_params_matcher(RECEIPT),
            matchers.header_matcher({"Prefer": "return-no-content"}),
        ],
    )
    created = make_client().create("InventoryGenEntries", RECEIPT)
    assert created == Created({}, "1234")
    assert created.integer_key("DocEntry") == 1234


def test_create_takes_the_entity_when_the_service_layer_sends_it_anyway(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    url = f"{root}/InventoryGenEntries"
    mocked.add(login_ok(root, version))
    mocked.add(
        responses.POST, url, status=201, json={"DocEntry": 7, "DocNum": 70}, headers={"Location": f"{url}(7)"}
    )
    created = make_client().create("InventoryGenEntries", RECEIPT)
    assert created.entity == {"DocEntry": 7, "DocNum": 70}
    assert created.integer_key("DocEntry") == 7


@pytest.mark.parametrize(
    ("headers", "key"),
    [({}, None), ({"Location": "http://sap/b1s/v2/InventoryGenEntries"}, None)],
    ids=["no Location", "Location without a key"],
)
def test_a_204_that_names_no_entity_gives_no_key(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory, headers, key
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(responses.POST, f"{root}/InventoryGenEntries", status=204, headers=headers)
    created = make_client().create("InventoryGenEntries", RECEIPT)
    assert created == Created({}, key) and created.integer_key("DocEntry") is None


def test_create_with_a_201_whose_body_is_cut_off_is_an_unknown_outcome(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(responses.POST, f"{root}/InventoryGenEntries", status=201, body='{"DocEntry": 7, "Doc')
    with pytest.raises(SLOutcomeUnknownError, match="unreadable body"):
        make_client().create("InventoryGenEntries", RECEIPT)


@pytest.mark.parametrize(
    ("location", "key"),
    [
        ("https://sap:50000/b1s/v2/InventoryGenEntries(1234)", "1234"),
        ("/b1s/v1/InventoryGenEntries(5)", "5"),
        ("https://sap:50000/b1s/v2/Items('A%27%27B')", "'A''B'"),
        ("https://sap:50000/b1s/v2/InventoryGenExits(9)", None),  # another entity set
        ("https://sap:50000/b1s/v2/InventoryGenEntries()", None),
        ("", None),
        (None, None),
    ],
)
def test_key_in_location(location, key) -> None:
    entity_set = "Items" if location and "Items" in location else "InventoryGenEntries"
    assert key_in_location(location, entity_set) == key


@pytest.mark.parametrize(
    ("key", "entry"),
    [("5", 5), ("DocEntry=5", 5), ("0", 0), ("x", "x"), ("DocNum=5", "DocNum=5"), (None, None)],
)
def test_integer_key_reads_the_plain_and_the_named_form(key, entry) -> None:
    assert Created({}, key).integer_key("DocEntry") == entry
