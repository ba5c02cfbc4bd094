"""The SWIFT side of an MT940 file: decoding, the {1:…}{4: … -} envelope, block structure."""

from __future__ import annotations

import re

from .errors import StatementFileError

_HEADER = re.compile(r"^(\{[1-3]:(?:[^{}]|\{[^{}]*\})*\})*\{4:")
_TRAILER = re.compile(r"^-\}(\{5:.*)?$")
_TAG = re.compile(r":(\d\d[A-Z]?|NS):")


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252, which German banks use for umlauts."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def unwrap(text: str) -> str:
    """Blank the SWIFT envelope out of each line; refuse a block 4 that never closes."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    opened: int | None = None
    for number, line in enumerate(lines, start=1):
        line = line.rstrip()
        header = _HEADER.match(line)
        if header:
            if opened is not None:
                raise StatementFileError("SWIFT block 4 is not closed", where=f"line {opened}")
            opened, line = number, line[header.end() :]
        elif _TRAILER.match(line) and opened is not None:
            opened, line = None, ""
        lines[number - 1] = line
    if opened is not None:
        raise StatementFileError("SWIFT block 4 is not closed", where=f"line {opened}")
    return "\n".join(lines)


def entry_lines(text: str) -> list[int]:
    """Line numbers of the :61: entries; raises when a statement block is incomplete."""
    entries: list[int] = []
    block: dict[str, int] = {}
    statements = 0
    for number, line in enumerate(text.split("\n"), start=1):
        tag = _TAG.match(line)
        if not tag:
            continue
        name = tag.group(1)
        if name == "20":
            _check_complete(block)
            block, statements = {}, statements + 1
        elif not block:
            raise StatementFileError(
                f":{name}: comes before the first :20: statement header", where=f"line {number}"
            )
        block.setdefault(name, number)
        if name == "61":
            entries.append(number)
    if not statements:
        raise StatementFileError("no :20: statement header: not an MT940 statement", where="line 1")
    _check_complete(block)
    return entries


def _check_complete(block: dict[str, int]) -> None:
    for tags, what in (
        ({"60F", "60M", "60"}, ":60F: opening"),
        ({"62F", "62M", "62"}, ":62F: closing"),
    ):
        if block and not block.keys() & tags:
            raise StatementFileError(
                f"statement has no {what} balance", where=f"line {block['20']}"
            )


def tag_error(text: str, exc: Exception) -> StatementFileError:
    """A tag other than :61: that the library refused, located in the text."""
    args = exc.args
    if len(args) == 3 and isinstance(args[2], str):
        tag, value = getattr(args[1], "id", "?"), args[2]
        position = text.find(value)
        where = f"line {text.count(chr(10), 0, position) + 1}" if position >= 0 else None
        return StatementFileError(f":{tag}: {value.splitlines()[0]!r} does not parse", where=where)
    return StatementFileError(f"an MT940 tag does not parse: {exc}", where="statement")
