"""SAP's own duplicate guard: a check in ``SBO_SP_TransactionNotification`` that refuses a second receipt
with a posting key SAP already holds, and how the connector recognises that refusal.

Without it, exactly once rests on the connector alone: two connectors on different ledgers for one
company (a cloned machine, a failover pair both running), or a receipt SAP commits later than the
quiet period, can each make a second receipt, which is then caught (``DUPLICATE_IN_SAP``), not
prevented. SBO_SP_TransactionNotification is B1's documented hook: SAP calls it inside the
transaction of every document it adds, and a non-zero ``error`` rolls the document back. The check
below refuses the add of a Receipt from Production (object 59) whose key another receipt already
carries, so SAP itself keeps one receipt per key, whoever sends the second.

* The check reads the company database, so it sees receipts of every connector and every lost
  answer; SAP adds documents of one kind one at a time (the numbering row stays locked until the
  document commits, ◐ practitioners), so two adds of one key cannot both pass it. It compares keys
  only: two connectors that read different confirmations of an order plan different keys, and both
  pass (docs/exactly-once.md says what would close that).
* The new document is skipped when it is a cancellation (``CANCELED`` = 'C': SAP's cancellation of a
  receipt may copy the key, ❓) so people can still cancel; a cancelled receipt (``CANCELED`` = 'Y')
  still counts, as a cancelled key is never posted again (docs/exactly-once.md).
* ❓ How the Service Layer passes a TransactionNotification error on is not confirmed: the code may be
  ``error`` or a generic one, and the text may carry a prefix. The connector therefore recognises the
  refusal by :data:`MARKER` anywhere in SAP's message, whatever the code.
"""

from __future__ import annotations

import re
from typing import Literal

from connector.errors import ConfigError

#: The text the guard's message starts with; a refusal is recognised by it (see the module's note).
MARKER = "B1BF-DUPLICATE-KEY"

#: The guard's ``error`` number: one no SAP message uses, so a person reading SAP's log can tell it.
ERROR_NUMBER = 59059

Dialect = Literal["hana", "mssql"]
DIALECTS: tuple[Dialect, ...] = ("hana", "mssql")

# A UDF's column name in OIGN is its Service Layer property name (U_...); only such a name may be
# written into SQL (no quoting tricks: the mapping already refuses anything else, this is a backstop).
_UDF_COLUMN = re.compile(r"^U_[A-Za-z0-9_]{1,50}$")

_HANA = """\
-- b1-backflush: refuse a second Receipt from Production carrying the same posting key ({key_field}).
-- Paste inside SBO_SP_TransactionNotification, before its final SELECT :error, :error_message.
IF :error = 0 AND :object_type = '59' AND :transaction_type = 'A' THEN
  BEGIN
    DECLARE b1bf_key NVARCHAR(254) := '';
    DECLARE b1bf_count INTEGER := 0;
    SELECT IFNULL(MAX(T0."{key_field}"), '') INTO b1bf_key FROM OIGN T0
     WHERE T0."DocEntry" = TO_INTEGER(:list_of_cols_val_tab_del) AND T0."CANCELED" = 'N';
    IF :b1bf_key <> '' THEN
      SELECT COUNT(*) INTO b1bf_count FROM OIGN T1
       WHERE T1."{key_field}" = :b1bf_key
         AND T1."DocEntry" <> TO_INTEGER(:list_of_cols_val_tab_del)
         AND T1."CANCELED" IN ('N', 'Y');
      IF :b1bf_count > 0 THEN
        error := {error_number};
        error_message := LEFT('{marker} ' || :b1bf_key, 200);
      END IF;
    END IF;
  END;
END IF;
"""

_MSSQL = """\
-- b1-backflush: refuse a second Receipt from Production carrying the same posting key ({key_field}).
-- Paste inside SBO_SP_TransactionNotification, before its final SELECT @error, @error_message.
IF @error = 0 AND @object_type = N'59' AND @transaction_type = N'A'
BEGIN
    DECLARE @b1bf_key nvarchar(254);
    SELECT @b1bf_key = T0.[{key_field}] FROM OIGN T0
     WHERE T0.[DocEntry] = CAST(@list_of_cols_val_tab_del AS int) AND T0.[CANCELED] = 'N';
    IF ISNULL(@b1bf_key, N'') <> N'' AND EXISTS (
        SELECT 1 FROM OIGN T1
         WHERE T1.[{key_field}] = @b1bf_key
           AND T1.[DocEntry] <> CAST(@list_of_cols_val_tab_del AS int)
           AND T1.[CANCELED] IN ('N', 'Y'))
    BEGIN
        SELECT @error = {error_number}, @error_message = LEFT(N'{marker} ' + @b1bf_key, 200);
    END
END
"""


def transaction_notification_sql(dialect: Dialect, key_field: str) -> str:
    """The guard for ``SBO_SP_TransactionNotification`` on SAP HANA or Microsoft SQL Server.

    ``key_field`` is the mapping's ``idempotency.key_field`` (a UDF on the receipt, ``U_…``).
    """
    if not _UDF_COLUMN.fullmatch(key_field):
        raise ConfigError(
            f"idempotency.key_field {key_field!r} is not a user-defined field (U_ and letters, digits or _): "
            "the guard reads the key from that column of OIGN; name the key UDF like that"
        )
    template = {"hana": _HANA, "mssql": _MSSQL}[dialect]
    return template.format(key_field=key_field, error_number=ERROR_NUMBER, marker=MARKER)


def is_refusal(sap_message: str | None) -> bool:
    """Whether SAP refused a receipt because the guard found its key on another receipt."""
    return sap_message is not None and MARKER in sap_message
