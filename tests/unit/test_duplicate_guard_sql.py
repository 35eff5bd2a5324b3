"""The duplicate guard consultants install in SBO_SP_TransactionNotification, and how its refusal is told.

The SQL cannot run here (no HANA, no SQL Server): these tests pin what a consultant relies on in its
text — the mapping's key field, only receipts (object 59) being added, a cancellation let through, a
cancelled receipt still counted, no other check's error overwritten, and the message the connector
recognises — and that the mock answers what the guard makes SAP answer.
"""

from __future__ import annotations

import pytest

from connector import duplicate_guard
from connector.errors import ConfigError
from connector.mock_sl import sap_rules


@pytest.mark.parametrize("dialect", duplicate_guard.DIALECTS)
def test_the_guard_checks_the_mapping_s_key_field_on_receipts_being_added(dialect) -> None:
    sql = duplicate_guard.transaction_notification_sql(dialect, "U_Acme_PostKey")
    assert "U_B1BF_Key" not in sql and sql.count("U_Acme_PostKey") >= 3
    assert "'59'" in sql and "'A'" in sql  # Receipt from Production (oInventoryGenEntry), added
    assert "FROM OIGN" in sql
    # The new document is checked only when it is not a cancellation ('C'); the others it is compared
    # with count when live ('N') or cancelled ('Y'): a cancelled key is never posted again.
    assert "\"CANCELED\" = 'N'" in sql or "[CANCELED] = 'N'" in sql
    assert "IN ('N', 'Y')" in sql
    # An error another check of the procedure already set is kept.
    assert ":error = 0" in sql or "@error = 0" in sql
    assert str(duplicate_guard.ERROR_NUMBER) in sql and duplicate_guard.MARKER in sql


@pytest.mark.parametrize("field", ["Reference2", "U_Key'; DROP TABLE OIGN; --", "U_", "U_Key]"])
def test_only_a_udf_name_is_written_into_the_sql(field) -> None:
    with pytest.raises(ConfigError, match="is not a user-defined field"):
        duplicate_guard.transaction_notification_sql("hana", field)


def test_a_refusal_is_told_by_the_guard_s_text_wherever_sap_puts_it() -> None:
    assert duplicate_guard.is_refusal("B1BF-DUPLICATE-KEY SBODEMOUS/101/C4/R0")
    assert duplicate_guard.is_refusal("(59059) B1BF-DUPLICATE-KEY SBODEMOUS/101/C4/R0")
    assert not duplicate_guard.is_refusal("Quantity falls into negative inventory  [IGE1.ItemCode][line: 1]")
    assert not duplicate_guard.is_refusal(None)


def test_the_mock_answers_what_the_guard_makes_sap_answer() -> None:
    assert sap_rules.DUPLICATE_KEY_GUARD_CODE == duplicate_guard.ERROR_NUMBER
    assert sap_rules.DUPLICATE_KEY_GUARD.format(key="K") == f"{duplicate_guard.MARKER} K"


def test_mappings_guard_sql_fills_in_the_key_field_of_the_mapping_in_use(
    capsys, tmp_path, monkeypatch
) -> None:
    from connector.cli import main

    assert main(["mappings", "guard-sql", "--database", "mssql"]) == 0
    assert capsys.readouterr().out == duplicate_guard.transaction_notification_sql("mssql", "U_B1BF_Key")
    mapping = tmp_path / "acme.yaml"
    mapping.write_text("version: 1\nidempotency:\n  key_field: U_Acme_PostKey\n", encoding="utf-8")
    monkeypatch.setenv("B1_MAPPING", str(mapping))
    assert main(["mappings", "guard-sql", "--database", "hana"]) == 0
    assert capsys.readouterr().out == duplicate_guard.transaction_notification_sql("hana", "U_Acme_PostKey")


def test_mappings_guard_sql_names_a_key_field_it_cannot_write_into_sql(capsys, tmp_path) -> None:
    from connector.cli import main

    mapping = tmp_path / "acme.yaml"
    mapping.write_text('version: 1\nidempotency:\n  key_field: "U_Key-1"\n', encoding="utf-8")
    assert main(["mappings", "guard-sql", "--database", "hana", str(mapping)]) == 2
    captured = capsys.readouterr()
    assert (
        captured.out == "" and "idempotency.key_field 'U_Key-1' is not a user-defined field" in captured.err
    )
