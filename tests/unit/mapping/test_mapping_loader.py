"""The loader: every consultant mistake gives FILE:LINE: KEY: what — fix; good files load."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.errors import MappingError
from connector.mapping.loader import load_mapping, order_fields_used
from connector.mapping.spec import (
    BatchRule,
    ConfirmedFieldsSource,
    FinishedGoodRule,
    Mapping,
    ReadyFlagSource,
    ReceiptRule,
)

ROOT = Path(__file__).resolve().parents[3]
FILE = "mappings/acme.yaml"


def _load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> MappingError:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mappings").mkdir(exist_ok=True)
    (tmp_path / FILE).write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(Path(FILE))
    return caught.value


MISTAKES = [
    # (id, file text, expected start "FILE:LINE: key:", expected fix text)
    (
        "typo_key",
        "version: 1\nreceipt:\n  warehous: order\n",
        f"{FILE}:3: receipt.warehous: unknown key",
        "did you mean 'warehouse'?",
    ),
    (
        "misplaced_key",
        "version: 1\nwarehouse:\n  rule: order\n",
        f"{FILE}:2: warehouse: unknown key",
        "move it under 'receipt:'",
    ),
    (
        "top_level_key_indented",
        "receipt:\n  after_full_receipt: close_order\n",
        f"{FILE}:2: receipt.after_full_receipt: unknown key",
        "move it to the top level (no indentation)",
    ),
    (
        "wrong_type_list",
        "candidates:\n  series: 5\n",
        f"{FILE}:2: candidates.series: must be a list",
        "write a list, e.g. [1, 2]",
    ),
    (
        "unquoted_warehouse_code",
        "receipt:\n  warehouse:\n    rule: constant\n    code: 01\n",
        f"{FILE}:4: receipt.warehouse.code: must be text",
        "write it in quotes: '01'",
    ),
    (
        "unquoted_table_value",
        "receipt:\n  warehouse:\n    rule: by_item_group\n    by_item_group:\n      100: 02\n",
        f"{FILE}:5: receipt.warehouse.by_item_group.100: must be text",
        "write it in quotes: '02'",
    ),
    (
        "bad_enum_close",
        "receipt:\n  doc_date: tody\n",
        f"{FILE}:2: receipt.doc_date: 'tody' is not allowed here",
        "did you mean 'today'?",
    ),
    (
        "bad_enum_far",
        "after_full_receipt: delete\n",
        f"{FILE}:1: after_full_receipt: 'delete' is not allowed here",
        "use one of: nothing, close_order",
    ),
    (
        "bad_policy_mode",
        "policies:\n  stock:\n    mode: blok\n",
        f"{FILE}:3: policies.stock.mode: 'blok' is not allowed here",
        "did you mean 'block'?",
    ),
    (
        "unknown_template_field",
        'receipt:\n  comments: "Order {DocumentNumbr}"\n',
        f"{FILE}:2: receipt.comments: unknown field 'DocumentNumbr'",
        "did you mean 'DocumentNumber'?",
    ),
    (
        "unknown_function",
        'receipt:\n  header_udfs:\n    U_B1BF_OrderRef: "{uper(ItemNo)}"\n',
        f"{FILE}:3: receipt.header_udfs.U_B1BF_OrderRef: unknown function uper()",
        "did you mean 'upper'?",
    ),
    (
        "python_tag",
        "version: 1\nreceipt: !!python/object:os.system\n  comments: x\n",
        f"{FILE}:2: receipt: YAML tag '!!python/object:os.system' is not allowed",
        "remove the '!' tag",
    ),
    (
        "custom_tag",
        "description: !env HOME\n",
        f"{FILE}:1: description: YAML tag '!env' is not allowed",
        "remove the '!' tag",
    ),
    (
        "duplicate_key",
        "version: 1\nreceipt:\n  doc_date: today\n  doc_date: today\n",
        f"{FILE}:4: receipt.doc_date: duplicate key (also on line 3)",
        "lines 3 and 4",
    ),
    (
        "tab_indentation",
        "version: 1\nreceipt:\n\tcomments: x\n",
        f"{FILE}:3: a tab character is used for indentation",
        "indent with spaces only",
    ),
    ("broken_yaml", "version: 1\ncandidates:\n  series: [1, 2\n", f"{FILE}:", "check the indentation"),
    (
        "serial_without_counter",
        'finished_good:\n  serial:\n    number: "{ItemNo}-{DocumentNumber}"\n',
        f"{FILE}:3: finished_good.serial.number: a serial number rule must contain {{serial}}",
        "{serial:04d}",
    ),
    (
        "serial_in_batch",
        'finished_good:\n  batch:\n    number: "{serial}"\n',
        f"{FILE}:3: finished_good.batch.number: {{serial}} is only allowed in finished_good.serial.number",
        "{Field}",
    ),
    (
        "key_field_reference2",
        "idempotency:\n  key_field: Reference2\n",
        f"{FILE}:2: idempotency.key_field: Reference2 holds 11 characters",
        "use a header UDF",
    ),
    (
        "key_field_written_by_rule",
        "receipt:\n  header_udfs:\n    U_B1BF_Key: x\n",
        f"{FILE}:3: receipt.header_udfs.U_B1BF_Key: receipt.header_udfs sets U_B1BF_Key",
        "remove it from header_udfs",
    ),
    (
        "udf_without_prefix",
        "receipt:\n  header_udfs:\n    B1BF_Source: x\n",
        f"{FILE}:3: receipt.header_udfs.B1BF_Source: 'B1BF_Source' is not a UDF name",
        "write it as 'U_B1BF_Source'",
    ),
    ("empty_file", "# only a comment\n", f"{FILE}:1: the file is empty", "mappings/default.yaml"),
    (
        "top_level_list",
        "- version: 1\n",
        f"{FILE}:1: the top level must be 'key: value' sections",
        "default.yaml",
    ),
    (
        "source_missing",
        "quantities:\n  confirmed_field: U_ConfirmedQty\n",
        f"{FILE}:1: quantities.source: the quantity source is missing",
        "add 'source: confirmed_fields'",
    ),
    (
        "source_unknown",
        "quantities:\n  source: confirmed\n",
        f"{FILE}:2: quantities.source: 'confirmed' is not a quantity source",
        "'confirmed_fields', 'ready_flag'",
    ),
    (
        "ready_flag_with_rejects",
        "quantities:\n  source: ready_flag\n  rejected_field: U_RejectedQty\n",
        f"{FILE}:3: quantities.rejected_field: rejected_field cannot be used with source: ready_flag",
        "remove rejected_field",
    ),
    (
        "reject_warehouse_never_used",
        "quantities:\n  source: ready_flag\nreceipt:\n  reject_warehouse: REJ\n",
        f"{FILE}:4: receipt.reject_warehouse: reject_warehouse is set but",
        "remove reject_warehouse",
    ),
    (
        "unbalanced_filter",
        "candidates:\n  extra_filter: \"(U_Line eq 'A'\"\n",
        f"{FILE}:2: candidates.extra_filter: not a valid OData filter: a '(' is not closed",
        "U_Line eq 'A'",
    ),
    (
        "unclosed_quote_filter",
        'candidates:\n  extra_filter: "U_Line eq \'A"\n',
        f"{FILE}:2: candidates.extra_filter: not a valid OData filter: a text value is not closed",
        "single quotes",
    ),
    (
        "constant_without_code",
        "receipt:\n  warehouse:\n    rule: constant\n",
        f"{FILE}:2: receipt.warehouse: rule: constant needs code",
        "README",
    ),
    (
        "table_ignored",
        'receipt:\n  warehouse:\n    by_item:\n      FG1: "02"\n',
        f"{FILE}:3: receipt.warehouse.by_item: the by_item table is ignored with rule: order",
        "set rule: by_item",
    ),
    (
        "reference2_too_long",
        'receipt:\n  reference2: "Production order {DocumentNumber}"\n',
        f"{FILE}:2: receipt.reference2: Reference2 holds 11 characters; this rule makes at least 17",
        "shorten it",
    ),
    (
        "comments_too_long",
        f'receipt:\n  comments: "{"x" * 250} {{DocumentNumber}} (b1-backflush)"\n',
        f"{FILE}:2: receipt.comments: Comments holds 254 characters; this rule makes at least 266",
        "shorten it",
    ),
    (
        "journal_memo_too_long",
        'receipt:\n  journal_memo: "Receipt from production order {DocumentNumber} for the night shift team"'
        "\n",
        f"{FILE}:2: receipt.journal_memo: JournalMemo holds 50 characters; this rule makes at least 55",
        "shorten it",
    ),
    (
        "out_of_range",
        "finished_good:\n  batch:\n    shelf_life_days: 0\n",
        f"{FILE}:3: finished_good.batch.shelf_life_days: must be greater than or equal to 1",
        "README",
    ),
]


@pytest.mark.parametrize(("text", "start", "fix"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_load_mapping_mistake_names_file_line_key_and_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, start: str, fix: str
) -> None:
    error = _load(tmp_path, monkeypatch, text)
    matching = [p for p in error.problems if p.startswith(start)]
    assert matching, error.problems
    assert any(fix in p for p in matching), matching
    assert start in str(error)


def test_load_mapping_reports_every_problem_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (
        'receipt:\n  warehous: x\n  doc_date: tody\n  comments: "{Nope}"\n'
        'candidates:\n  series: 5\n  extra_filter: "(a"\n'
    )
    error = _load(tmp_path, monkeypatch, text)
    lines = [p.split(":")[1] for p in error.problems]
    assert lines == ["2", "3", "4", "6", "7"]
    assert "5 problems" in str(error)


@pytest.mark.parametrize("refused", ["!!python/object:os.system {}", "!env HOME", "[!!python/name:os.sep x]"])
def test_load_mapping_refused_tag_does_not_hide_the_other_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refused: str
) -> None:
    text = f"receipt:\n  warehous: x\ndescription: {refused}\ncandidates:\n  series: 5\n"
    error = _load(tmp_path, monkeypatch, text)
    assert [p.split(":")[1] for p in error.problems] == ["2", "3", "5"]
    assert "YAML tag '!" in error.problems[1] and "is not allowed" in error.problems[1]


def test_load_mapping_yaml12_words_stay_text(tmp_path: Path) -> None:
    # YAML 1.1 would read off/yes/Y as booleans; the editor (YAML 1.2) and the loader read text.
    path = tmp_path / "m.yaml"
    path.write_text(
        "quantities:\n  source: ready_flag\n  ready_value: yes\npolicies:\n  stock:\n    mode: off\n"
    )
    mapping = load_mapping(path)
    assert isinstance(mapping.quantities, ReadyFlagSource)
    assert mapping.quantities.ready_value == "yes"
    assert mapping.policies.stock.mode == "off"


def test_load_mapping_none_is_the_builtin_default() -> None:
    assert load_mapping(None) == Mapping()


def test_load_mapping_default_yaml_equals_builtin_default() -> None:
    assert load_mapping(ROOT / "mappings" / "default.yaml") == Mapping()


def test_load_mapping_partial_confirmations_example() -> None:
    mapping = load_mapping(ROOT / "mappings" / "examples" / "partial-confirmations-reject-warehouse.yaml")
    assert mapping.quantities == ConfirmedFieldsSource(
        confirmed_field="U_ConfirmedQty", rejected_field="U_RejectedQty"
    )
    assert mapping.receipt.reject_warehouse == "REJ"
    assert mapping.receipt.header_udfs["U_B1BF_OrderRef"] == "{DocumentNumber}-{today:%Y%m%d}"
    assert "U_B1BF_Source" in mapping.receipt.header_udfs
    assert mapping.receipt.warehouse.rule == "by_item_group"
    assert mapping.receipt.warehouse.by_item_group


def test_load_mapping_ready_flag_example() -> None:
    mapping = load_mapping(ROOT / "mappings" / "examples" / "ready-flag-batch-close.yaml")
    assert mapping.quantities == ReadyFlagSource(ready_field="U_ReadyToReceive", ready_value="Y")
    assert mapping.finished_good.batch == BatchRule(
        number="{ItemNo}-{DocumentNumber}-{today:%y%m%d}", shelf_life_days=365
    )
    assert mapping.after_full_receipt == "close_order"
    assert mapping.candidates.extra_filter == "U_Line eq 'L1'"


def test_every_mapping_file_starts_with_the_schema_comment() -> None:
    for path in (ROOT / "mappings").rglob("*.yaml"):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        target = first.removeprefix("# yaml-language-server: $schema=")
        assert target != first, path
        assert (path.parent / target).resolve() == ROOT / "connector" / "mapping" / "schema.json", path


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        (Mapping(), {"U_ConfirmedQty", "U_RejectedQty", "DocumentNumber", "Warehouse"}),
        (
            Mapping(quantities=ReadyFlagSource(), receipt=ReceiptRule(comments=None, journal_memo=None)),
            {"U_ReadyToReceive", "Warehouse"},
        ),
        (
            Mapping(
                receipt=ReceiptRule(
                    doc_date="order_due_date",
                    comments="{U_Line} {ItemName} {today:%Y}",
                    journal_memo=None,
                    header_udfs={"U_B1BF_OrderRef": "{Remarks}"},
                )
            ),
            {"U_ConfirmedQty", "U_RejectedQty", "DueDate", "Warehouse", "U_Line", "Remarks"},
        ),
        (
            Mapping(
                quantities=ConfirmedFieldsSource(rejected_field=None),
                finished_good=FinishedGoodRule(batch=BatchRule(number="{CustomerCode}-{today:%Y}")),
                receipt=ReceiptRule(comments=None, journal_memo=None, doc_date="order_posting_date"),
            ),
            {"U_ConfirmedQty", "PostingDate", "Warehouse", "CustomerCode"},
        ),
    ],
)
def test_order_fields_used_lists_what_the_poll_must_select(mapping: Mapping, expected: set[str]) -> None:
    assert order_fields_used(mapping) == expected


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\n",
        'receipt:\n  reference2: "PO{DocumentNumber}"\n',
        "candidates:\n  extra_filter: \"U_Line eq 'O''Brien' and (Series eq 23 or Series eq 24)\"\n",
        'receipt:\n  warehouse:\n    rule: by_item\n    by_item:\n      FG-100: "02"\n',
        'receipt:\n  warehouse: {rule: constant, code: "QC"}\n',
        'finished_good:\n  serial:\n    number: "{upper(ItemNo)}/{serial:06d}"\n',
        'receipt:\n  line_udfs:\n    U_Shift: "{U_Shift}"\n    U_Count: 3\n',
        "quantities:\n  source: confirmed_fields\n  rejected_field: null\n",
        "# comment\nversion: !!int 1\n",
    ],
)
def test_load_mapping_accepts_valid_snippets(tmp_path: Path, text: str) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(text, encoding="utf-8")
    assert isinstance(load_mapping(path), Mapping)
