"""Templates: rendering table, fields, validation (did-you-mean), and injection attempts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from connector.mapping.templates import (
    ALLOWED_FIELDS,
    ORDER_FIELDS,
    TemplateError,
    render_template,
    template_fields,
    validate_template,
)

VALUES: dict[str, Any] = {
    "DocumentNumber": 1042,
    "ItemNo": "FG-Widget-Blue",
    "PlannedQuantity": 5.0,
    "CompletedQuantity": 2.5,
    "DueDate": "2026-05-01T00:00:00Z",
    "U_Line": "A",
    "U_Empty": None,
    "today": date(2026, 4, 25),
    "now": datetime(2026, 4, 25, 13, 5, 7),
    "serial": 7,
    "key": "b1bf:SBODEMO:3585:202:5",
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("plain text", "plain text"),
        ("", ""),
        ("{DocumentNumber}", "1042"),
        ("{DocumentNumber}-{today:%Y%m%d}", "1042-20260425"),
        ("{serial:04d}", "0007"),
        ("{ItemNo}-{DocumentNumber}-{serial:04d}", "FG-Widget-Blue-1042-0007"),
        ("{today}", "2026-04-25"),
        ("{today:%Y}", "2026"),
        ("{now:%H:%M}", "13:05"),
        ("{now}", "2026-04-25T13:05:07"),
        ("{DueDate:%y%m%d}", "260501"),
        ("{PlannedQuantity}", "5"),
        ("{CompletedQuantity}", "2.5"),
        ("{PlannedQuantity:.2f}", "5.00"),
        ("{PlannedQuantity:d}", "5"),
        ("{DocumentNumber:>8}", "    1042"),
        ("{DocumentNumber:08d}", "00001042"),
        ("{{literal}} {DocumentNumber}", "{literal} 1042"),
        ("}}{{", "}{"),
        ("{upper(ItemNo)}", "FG-WIDGET-BLUE"),
        ("{lower(ItemNo)}", "fg-widget-blue"),
        ("{left(ItemNo, 2)}", "FG"),
        ("{right(ItemNo, 4)}", "Blue"),
        ("{right(ItemNo, 0)}", ""),
        ("{upper(left(ItemNo, 9))}", "FG-WIDGET"),
        ("{replace(ItemNo, '-', '')}", "FGWidgetBlue"),
        ("{replace(ItemNo, '-', '''')}", "FG'Widget'Blue"),
        ("{trim(' x ')}", "x"),
        ("{left(DocumentNumber, 2):>4}", "  10"),
        ("[{U_Line}]", "[A]"),
        ("[{U_Empty}]", "[]"),
        ("[{U_Missing}]", "[]"),
        ("[{U_Missing:04d}]", "[]"),
        ("[{upper(U_Missing)}]", "[]"),
        ("{key}", "b1bf:SBODEMO:3585:202:5"),
    ],
)
def test_render_template_renders(template: str, expected: str) -> None:
    assert render_template(template, VALUES) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{DocumentNumber}-{today:%Y%m%d}", {"DocumentNumber", "today"}),
        ("{upper(left(ItemNo, 8))}{U_Line}", {"ItemNo", "U_Line"}),
        ("no fields {{here}}", set()),
        ("{replace(ItemNo, 'DocumentNumber', '')}", {"ItemNo"}),
    ],
)
def test_template_fields_lists_referenced_names(template: str, expected: set[str]) -> None:
    assert template_fields(template) == expected


@pytest.mark.parametrize(
    ("template", "needle"),
    [
        ("{DocumentNumbr}", "unknown field 'DocumentNumbr' — did you mean 'DocumentNumber'?"),
        ("{itemno}", "did you mean 'ItemNo'?"),
        ("{uper(ItemNo)}", "unknown function uper() — did you mean 'upper'?"),
        ("{left(ItemNo)}", "left() takes 2 argument(s), got 1"),
        ("{__class__}", "unknown field '__class__'"),
        ("{DocumentNumber.__class__}", "attribute or index access"),
        ("{DocumentNumber.__class__.__mro__}", "attribute or index access"),
        ("{ItemNo[0]}", "attribute or index access"),
        ("{DocumentNumber!r}", "unexpected '!r'"),
        ("{DocumentNumber:{serial}}", "is not closed"),
        ("{}", "a field name is missing"),
        ("{0}", "must name a field or a function"),
        ("{'text'}", "must name a field or a function"),
        ("{DocumentNumber", "is not closed; write '{{' for a literal brace"),
        ("a } b", "write '}}' for a literal brace"),
        ("{serial}", "{serial} is only allowed in finished_good.serial.number"),
        ("{today:%Q}", "unsupported directive(s) %Q"),
        ("{DocumentNumber:999999999d}", "widths and precisions above 254"),
        ("{DocumentNumber:%%x{y}}", "is not closed"),
        ("{DocumentNumber:abc}", "is not a valid format"),
        ("{replace(ItemNo, 'a}", "a closing quote is missing"),
        ("{upper(ItemNo}", "a ')' is missing"),
    ],
)
def test_validate_template_names_the_problem(template: str, needle: str) -> None:
    problems = validate_template(template)
    assert any(needle in p for p in problems), problems


@pytest.mark.parametrize(
    "template",
    [
        "{DocumentNumber}-{today:%Y%m%d}",
        "{today:%Y}",
        "{U_AnyUdf_1}",
        "{ItemName} {ItemsGroupCode} {InventoryUOM} {Quantity:.3f} {RejectQuantity} {now:%H%M} {key}",
        "{upper(left(ItemNo, 8))}-{right(Warehouse, 2)}",
        "{{}}",
    ],
)
def test_validate_template_accepts_valid(template: str) -> None:
    assert validate_template(template) == []


def test_validate_template_serial_allowed_when_extra() -> None:
    assert validate_template("{ItemNo}-{serial:04d}", extra={"serial"}) == []


def test_validate_template_custom_allowed_fields() -> None:
    assert validate_template("{ItemNo}", allowed_fields={"DocumentNumber"}) != []
    assert validate_template("{DocumentNumber}", allowed_fields={"DocumentNumber"}) == []


@pytest.mark.parametrize(
    "template",
    [
        "{DocumentNumber.__class__}",
        "{ItemNo[0]}",
        "{ItemNo!s}",
        "{DocumentNumber:{x}}",
        "{",
        "}",
        "{today:%Q}",
        "{ItemNo:04d}",  # text with a numeric format
        "{uper(ItemNo)}",
        "{left(ItemNo, 9999)}",
        "{left(ItemNo, 'x')}",
    ],
)
def test_render_template_refuses_unsafe_or_bad(template: str) -> None:
    with pytest.raises(TemplateError):
        render_template(template, VALUES)


def test_render_template_never_touches_attributes() -> None:
    class Spy:
        touched = False

        def __format__(self, spec: str) -> str:
            Spy.touched = True
            return "spy"

        @property
        def secret(self) -> str:  # pragma: no cover - must never be reached
            raise AssertionError("attribute access from a template")

    with pytest.raises(TemplateError):
        render_template("{ItemNo.secret}", {"ItemNo": Spy()})
    assert Spy.touched is False


def test_render_template_date_spec_on_non_date_is_an_error() -> None:
    with pytest.raises(TemplateError, match="not a date"):
        render_template("{ItemNo:%Y}", VALUES)


def test_order_fields_are_the_v2_metadata_scalars() -> None:
    expected_order = {"AbsoluteEntry", "DocumentNumber", "ItemNo", "Warehouse", "DueDate", "PickRemarks"}
    assert expected_order <= ORDER_FIELDS
    assert "ProductionOrderLines" not in ORDER_FIELDS
    extras = {"today", "now", "Quantity", "RejectQuantity", "key", "ItemName", "ItemsGroupCode"}
    assert extras <= ALLOWED_FIELDS
    assert "serial" not in ALLOWED_FIELDS
