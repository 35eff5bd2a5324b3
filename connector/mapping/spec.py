"""The mapping file's schema: what a consultant may write in ``mappings/*.yaml``.

Every model forbids unknown keys (the loader turns that into a "did you mean" with file and
line). The defaults ARE the demo company's mapping: ``mappings/default.yaml`` spells them out
with comments, and a test keeps the two equal. SAP names (UDFs, fields, enum members) are
written verbatim.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_UDF = re.compile(r"^U_[A-Za-z0-9_]{1,50}$")

Policy = Literal["block", "warn", "off"]


#: ``ProductionOrderType`` values a candidate may have (disassembly orders never are).
OrderType = Literal["bopotStandard", "bopotSpecial"]
ORDER_TYPES: tuple[OrderType, ...] = ("bopotStandard", "bopotSpecial")


class StrictModel(BaseModel):
    """Unknown keys are errors, values are not coerced silently, models are immutable.

    ``allow_inf_nan=False``: a quoted "inf" or "nan" would otherwise become a float no check can
    compare against, and JSON cannot carry it to SAP.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, allow_inf_nan=False)


def _check_udf(value: str | None) -> str | None:
    if value is not None and not _UDF.match(value):
        raise ValueError(f"{value!r} is not a UDF name: UDF properties start with U_ (e.g. U_ConfirmedQty)")
    return value


class Candidates(StrictModel):
    """Which released production orders are candidates. Everything here is pushed into ``$filter``."""

    #: Raw OData appended as ``and (<extra_filter>)``, e.g. ``U_Line eq 'A'``.
    extra_filter: str | None = None
    series: list[int] = Field(default_factory=list)
    #: The order header ``Warehouse`` (the product's receipt warehouse).
    warehouses: list[str] = Field(default_factory=list)
    #: ``ItemsGroupCode`` of the product. Not a ProductionOrder property, so filtered after the
    #: item master is read (the one criterion SAP cannot filter server-side here).
    item_groups: list[int] = Field(default_factory=list)
    #: Disassembly orders are never candidates (they are held UNSUPPORTED_ORDER_TYPE if listed).
    order_types: list[OrderType] = Field(default_factory=lambda: list(ORDER_TYPES))


class ConfirmedFieldsSource(StrictModel):
    """Cumulative confirmed quantities on order header UDFs: receive confirmed − already received."""

    source: Literal["confirmed_fields"] = "confirmed_fields"
    confirmed_field: str = "U_ConfirmedQty"
    rejected_field: str | None = "U_RejectedQty"

    @field_validator("confirmed_field", "rejected_field")
    @classmethod
    def _udf_names(cls, value: str | None) -> str | None:
        return _check_udf(value)


class ReadyFlagSource(StrictModel):
    """A header UDF flag: when it has ``ready_value``, receive everything still open of the planned quantity."""  # noqa: E501 - the schema's hover text

    source: Literal["ready_flag"] = "ready_flag"
    ready_field: str = "U_ReadyToReceive"
    ready_value: str = "Y"

    @field_validator("ready_field")
    @classmethod
    def _udf_name(cls, value: str) -> str | None:
        return _check_udf(value)


QuantitySource = Annotated[ConfirmedFieldsSource | ReadyFlagSource, Field(discriminator="source")]


class WarehouseRule(StrictModel):
    """Where the finished good is received: the order's warehouse, a constant, or a table."""

    #: order = the order header ``Warehouse``; constant = ``code``; by_item / by_item_group = the
    #: table, falling back to the order warehouse for codes not listed.
    rule: Literal["order", "constant", "by_item", "by_item_group"] = "order"
    code: str | None = None
    by_item: dict[str, str] = Field(default_factory=dict)
    by_item_group: dict[int, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _coherent(self) -> WarehouseRule:
        if self.rule == "constant" and not self.code:
            raise ValueError("rule: constant needs code: <WarehouseCode>")
        if self.rule != "constant" and self.code:
            raise ValueError(f"code is only used with rule: constant (rule is {self.rule})")
        if self.rule == "by_item" and not self.by_item:
            raise ValueError("rule: by_item needs a by_item table (ItemCode: WarehouseCode)")
        if self.rule == "by_item_group" and not self.by_item_group:
            raise ValueError(
                "rule: by_item_group needs a by_item_group table (ItemsGroupCode: WarehouseCode)"
            )
        return self


#: A field value on the receipt: a constant, or a template string such as "{DocumentNumber}-{today:%Y%m%d}".
FieldValue = str | int | float


class ReceiptRule(StrictModel):
    """The header and line fields of the Receipt from Production (``InventoryGenEntries``)."""

    doc_date: Literal["today", "order_due_date", "order_posting_date"] = "today"
    #: The receipt's numbering series (``Series``); None = SAP's default series for the user.
    series: int | None = Field(default=None, ge=1)
    comments: str | None = "Receipt from production order {DocumentNumber} (b1-backflush)"
    journal_memo: str | None = "Receipt from production {DocumentNumber}"
    #: OIGN.Ref2 holds 11 characters at most (DI API help); longer rendered values are refused.
    reference2: str | None = None
    #: Header UDFs (``U_*``) and their values.
    header_udfs: dict[str, FieldValue] = Field(default_factory=dict)
    #: Line UDFs (``U_*``) on every receipt line.
    line_udfs: dict[str, FieldValue] = Field(default_factory=dict)
    warehouse: WarehouseRule = Field(default_factory=WarehouseRule)
    #: Warehouse for the botrntReject line; None = the same as the good quantity.
    reject_warehouse: str | None = None

    @field_validator("header_udfs", "line_udfs")
    @classmethod
    def _udf_keys(cls, value: dict[str, FieldValue]) -> dict[str, FieldValue]:
        for key in value:
            _check_udf(key)
        return value


class BatchRule(StrictModel):
    """How a batch-managed finished good's batch number is made."""

    number: str = "{DocumentNumber}-{today:%Y%m%d}"
    #: ExpiryDate = DocDate + shelf_life_days; None = no expiry date.
    shelf_life_days: int | None = Field(default=None, ge=1, le=36500)


class SerialRule(StrictModel):
    """How a serial-managed finished good's serial numbers are made; ``{serial}`` counts from 1 per order."""

    number: str = "{ItemNo}-{DocumentNumber}-{serial:04d}"


class FinishedGoodRule(StrictModel):
    """Batch/serial numbers for the product. None = not supplied: such orders are held."""

    batch: BatchRule | None = None
    serial: SerialRule | None = None


class IdempotencyRule(StrictModel):
    """The receipt header field that carries the posting key (exactly-once rule 1)."""

    key_field: str = "U_B1BF_Key"

    @field_validator("key_field")
    @classmethod
    def _key_field(cls, value: str) -> str:
        if value == "Reference2":
            raise ValueError(
                "Reference2 holds 11 characters, too short for the posting key; use a header UDF"
            )
        if not value.startswith("U_") and value not in {"Comments", "JournalMemo"}:
            raise ValueError("use a header UDF (U_...), e.g. U_B1BF_Key")
        if value in {"Comments", "JournalMemo"}:
            raise ValueError(f"{value} is user-editable and not a reliable key; use a header UDF (U_...)")
        return value


class CheckPolicy(StrictModel):
    """block = hold the order; warn = post and report; off = do not check."""

    mode: Policy = "block"
    #: Absolute quantity tolerance (inventory UoM).
    tolerance: float = Field(default=0.0001, ge=0)


class OverReceiptPolicy(StrictModel):
    """How far beyond ``PlannedQuantity`` (in percent) completed + rejected may go."""

    tolerance_percent: float = Field(default=0.0, ge=0, le=1000)


class Policies(StrictModel):
    """How strict the checks are."""

    manual_issue: CheckPolicy = Field(default_factory=CheckPolicy)
    stock: CheckPolicy = Field(default_factory=CheckPolicy)
    over_receipt: OverReceiptPolicy = Field(default_factory=OverReceiptPolicy)


class Mapping(StrictModel):
    """One company's or scenario's mapping (``B1_MAPPING``)."""

    version: Literal[1] = 1
    #: Free text shown in logs and `explain`.
    description: str | None = None
    candidates: Candidates = Field(default_factory=Candidates)
    quantities: QuantitySource = Field(default_factory=ConfirmedFieldsSource)
    receipt: ReceiptRule = Field(default_factory=ReceiptRule)
    finished_good: FinishedGoodRule = Field(default_factory=FinishedGoodRule)
    idempotency: IdempotencyRule = Field(default_factory=IdempotencyRule)
    policies: Policies = Field(default_factory=Policies)
    after_full_receipt: Literal["nothing", "close_order"] = "nothing"

    @model_validator(mode="after")
    def _key_field_not_written_by_a_rule(self) -> Mapping:
        if self.idempotency.key_field in self.receipt.header_udfs:
            raise ValueError(
                f"receipt.header_udfs sets {self.idempotency.key_field}, which is idempotency.key_field: "
                "the connector writes the posting key there; remove it from header_udfs"
            )
        return self
