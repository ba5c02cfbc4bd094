"""Confidence as a probability: the fitted table's shape and how the engine applies it."""

from __future__ import annotations

import pytest

from payymo.matching.calibration import AUTO, calibrated
from payymo.matching.calibration_table import TABLE
from tests.matching.factories import invoice, run, txn


@pytest.mark.parametrize("group", [AUTO, "1", "2", "3"])
def test_each_group_maps_every_point_to_a_probability_that_never_falls(group):
    row = TABLE[group]
    assert len(row) == 101
    assert all(0.0 <= v <= 1.0 for v in row)
    assert list(row) == sorted(row)


def test_points_outside_the_scale_and_deep_ranks_read_as_the_edges():
    assert calibrated(-20, "1") == TABLE["1"][0]
    assert calibrated(140, "1") == TABLE["1"][100]
    assert calibrated(70, "7") == TABLE["3"][70]


def test_an_automatic_match_shows_the_auto_table_and_keeps_its_score():
    decision = run([txn("t", 12_300, "INV-1042")], [invoice("i", "INV-1042", 12_300)])["t"]
    assert decision.auto is not None
    points = round(decision.auto.score * 100)
    assert decision.auto.confidence == calibrated(points, AUTO)


def test_suggestions_show_their_rank_s_confidence_never_above_the_one_before():
    invoices = [invoice(f"i{n}", f"INV-{n}", 5_000) for n in range(4)]
    decision = run([txn("t", 5_000, "payment")], invoices)["t"]
    assert len(decision.suggestions) >= 2
    shown = [s.confidence for s in decision.suggestions]
    assert shown == sorted(shown, reverse=True)
    first = decision.suggestions[0]
    assert first.confidence == calibrated(round(first.score * 100), "1")
