"""Reference tokens: normalisation, whole-token comparison, tenant patterns."""

from __future__ import annotations

import pytest

from payymo.matching.patterns import compile_pattern
from payymo.matching.references import (
    candidate_tokens,
    extract_references,
    normalize_reference,
    reference_core,
)
from payymo.matching.types import MatchSettings
from tests.matching.factories import invoice, run, txn


@pytest.mark.parametrize(
    "value",
    ["INV-1042", "inv1042", "INV 1042", "Inv#1042", "Invoice no. 1042", "INV-001042",
     "invoice 01042", "Rechnung 1042", "INV/1042", "inv.1042", "  INV - 1042 "],
)  # fmt: skip
def test_prefix_case_separators_and_leading_zeros_normalise_alike(value):
    assert normalize_reference(value) == "INV-1042"


def test_own_prefixes_and_multi_part_numbers_are_kept():
    assert normalize_reference("2024/0042") == "2024-42"
    assert normalize_reference("Invoice RE-2024-0042") == normalize_reference("RE 2024/42")
    assert normalize_reference("F-1042") == "F-1042"
    assert reference_core("INV-001042") == "1042"
    assert reference_core("F-2024-0042") == "2024-42"


def test_extract_finds_several_references_in_one_line():
    assert extract_references("Payment INV-1042, inv 1043 & Invoice no. 0044, thanks") == [
        "INV-1042",
        "INV-1043",
        "INV-44",
    ]
    assert extract_references("inv1042/inv1043") == ["INV-1042", "INV-1043"]


def test_extract_from_text_without_references_is_empty():
    assert extract_references("Thank you for your business") == []
    assert extract_references("") == []


def test_candidate_tokens_never_cut_a_number():
    fulls = {full for full, _core, _s, _e in candidate_tokens("paid INV-12 and INV-10420")}
    assert "INV-12" in fulls and "INV-10420" in fulls
    assert "INV-1" not in fulls and "INV-1042" not in fulls
    # a date is one segment: none of its parts is read on its own
    cores = {core for _f, core, _s, _e in candidate_tokens("paid 15.03.2024")}
    assert cores == {"15-3-2024"}


def test_whole_tokens_in_the_engine_inv_1_never_matches_inv_12():
    invoices = [invoice("inv_1", "INV-1", 5000), invoice("inv_12", "INV-12", 5000)]
    decision = run([txn("t", 5000, "Payment INV-12")], invoices)["t"]
    assert decision.auto is not None
    assert decision.auto.invoice_ids == ("inv_12",)


def test_near_miss_number_is_not_a_match():
    invoices = [invoice("a", "INV-1042", 5000, "Acme"), invoice("b", "INV-10420", 7000, "Other")]
    decision = run([txn("t", 7000, "ref INV-10420", payer="Other")], invoices)["t"]
    assert decision.auto.invoice_ids == ("b",)
    assert "INV-10420 found in remittance" in [r.text for r in decision.auto.reasons]


def test_tenant_pattern_named_group_group_one_or_whole_match():
    text = "Order ABC-0077 paid, also ABC-78"
    assert extract_references(text, r"ABC-(?P<ref>\d+)") == ["77", "78"]
    assert extract_references(text, r"ABC-(\d+)") == ["77", "78"]
    assert extract_references(text, r"ABC-\d+") == ["ABC-77", "ABC-78"]


def test_tenant_pattern_finds_references_the_built_in_reader_cannot():
    # "AB 77": an own (non-generic) prefix set apart by a space is not read as a prefix
    invoices = [invoice("i", "AB-77", 5000)]
    plain = run([txn("t", 5000, "pay AB 77")], invoices)["t"]
    assert plain.auto is None
    settings = MatchSettings(reference_pattern=r"(AB\s\d+)")
    decision = run([txn("t", 5000, "pay AB 77")], invoices, settings=settings)["t"]
    assert decision.auto is not None and decision.auto.invoice_ids == ("i",)


def test_compiled_patterns_are_case_insensitive():
    assert compile_pattern(r"inv-(\d+)").search("INV-5").group(1) == "5"
