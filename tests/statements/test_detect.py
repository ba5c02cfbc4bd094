"""Format detection from content alone, and what is refused as an unknown format."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.statements import FORMATS, StatementFileError, UnknownFormat, read_statement

SAMPLES = Path(__file__).parent / "samples"
ACCEPTED = "camt.053, camt.052, camt.054, mt940, ofx, csv"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("camt053_v02.xml", "camt.053"),
        ("camt053_v08.xml", "camt.053"),
        ("camt052.xml", "camt.052"),
        ("camt054.xml", "camt.054"),
        ("mt940_german.sta", "mt940"),
        ("mt940_swift.sta", "mt940"),
        ("statement_v1.ofx", "ofx"),
        ("statement_v2.ofx", "ofx"),
        ("uk.csv", "csv"),
        ("de_preset.csv", "csv"),
        ("utf8_bom.csv", "csv"),
    ],
)
def test_every_sample_is_detected(name, expected):
    statement = read_statement((SAMPLES / name).read_bytes())
    assert statement.format == expected
    assert statement.lines


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)),
        bytes((i * 73 + 41) % 256 for i in range(4096)),
        b"Dear customer,\nthank you for your order\n",
        b"",
        b"<html><body>not a statement</body></html>",
    ],
)
def test_unknown_content_lists_the_formats(data):
    with pytest.raises(UnknownFormat) as caught:
        read_statement(data)
    assert ACCEPTED in caught.value.message
    assert isinstance(caught.value, StatementFileError)


def test_unknown_format_name():
    with pytest.raises(UnknownFormat, match="unknown format 'qif'"):
        read_statement(b"Date,Amount\n", format="qif")
    assert ", ".join(FORMATS) == ACCEPTED


def test_file_name_breaks_a_tie():
    # Only a :20: tag: MT940 by its name, so the reader can say what is missing.
    data = b":20:STARTUMSE\r\n:25:37040044/0532013000\r\n"
    with pytest.raises(UnknownFormat):
        read_statement(data)
    with pytest.raises(StatementFileError) as caught:
        read_statement(data, filename="export.sta")
    assert not isinstance(caught.value, UnknownFormat)
    assert caught.value.message == "statement has no :60F: opening balance"
