"""check_online against the real mock Service Layer (demo company), on /b1s/v1 and /b1s/v2.

Uses the shared ``mock_sl`` and ``protocol`` fixtures (tests/conftest.py): a real HTTP server
on loopback, so this also proves the queries the check sends are ones the SL accepts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connector.mapping.check import EXIT_OK, EXIT_PROBLEMS, check_online, run_check
from connector.mapping.loader import load_mapping
from connector.mapping.spec import IdempotencyRule, Mapping, ReceiptRule, WarehouseRule
from connector.sl.client import ServiceLayerClient
from tests.support.sl_client import client_from

ROOT = Path(__file__).resolve().parents[3]
MAPPINGS = sorted((ROOT / "mappings").rglob("*.yaml"))


@pytest.fixture
def client(mock_sl: Any, protocol: str) -> Iterator[ServiceLayerClient]:
    user, password = next(iter(mock_sl.users.items()))
    with client_from(
        base_url=mock_sl.root(protocol),
        company_db=mock_sl.company_db,
        username=user,
        password=SecretStr(password),
        read_timeout_s=5,
        retry_max_wait_s=0.01,
    ) as sl_client:
        sl_client.login()
        yield sl_client


@pytest.mark.parametrize("path", MAPPINGS, ids=[p.name for p in MAPPINGS])
def test_check_online_shipped_mappings_fit_the_demo_company(client: ServiceLayerClient, path: Path) -> None:
    assert check_online(load_mapping(path), client, path=path) == []


def test_check_online_reports_what_the_demo_company_lacks(client: ServiceLayerClient) -> None:
    mapping = Mapping(
        receipt=ReceiptRule(
            header_udfs={"U_NoSuchUdf": "x"},
            warehouse=WarehouseRule(rule="constant", code="ZZ"),
            reject_warehouse="REJ",
        )
    )
    problems = check_online(mapping, client)
    assert sorted((p.key, p.message) for p in problems) == [
        ("receipt.header_udfs.U_NoSuchUdf", "UDF U_NoSuchUdf does not exist on OIGN"),
        ("receipt.warehouse.code", "warehouse 'ZZ' does not exist in SAP"),
    ]


def test_run_check_online_exit_codes(client: ServiceLayerClient, tmp_path: Path) -> None:
    code, text = run_check(ROOT / "mappings" / "default.yaml", client=client)
    assert (code, text.splitlines()[-1]) == (EXIT_OK, "OK: no problems found.")
    bad = tmp_path / "bad.yaml"
    bad.write_text('candidates:\n  warehouses: ["01", "NOPE"]\n', encoding="utf-8")
    code, text = run_check(bad, client=client)
    assert code == EXIT_PROBLEMS
    assert f"{bad}:2: candidates.warehouses: warehouse 'NOPE' does not exist in SAP" in text


def test_check_online_unknown_key_field_is_not_filterable(client: ServiceLayerClient) -> None:
    problems = check_online(Mapping(idempotency=IdempotencyRule(key_field="U_B1BF_Nope")), client)
    assert [p.key for p in problems] == ["idempotency.key_field", "idempotency.key_field"]
    assert problems[0].message == "UDF U_B1BF_Nope does not exist on OIGN"
    assert problems[1].message.startswith("SAP refuses to filter InventoryGenEntries on U_B1BF_Nope")
