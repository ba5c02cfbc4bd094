"""Which format a statement file is in, from its content; the file name only breaks ties."""

from __future__ import annotations

import re

from .camt import MESSAGES
from .csv_text import decode_text, sniff_delimiter
from .errors import UnknownFormat

_HEAD = 65536
_CAMT_NAMESPACE = re.compile(rb"urn:iso:std:iso:20022:tech:xsd:(camt\.05[234])\.\d{3}\.\d{2}")
_CAMT_MESSAGE = re.compile(rb"<(?:\w+:)?(" + b"|".join(m.encode() for m in MESSAGES) + rb")[\s>]")
_OFX = re.compile(rb"<\?OFX|<OFX>", re.IGNORECASE)
_MT940_START = re.compile(rb"(?m)(^|\{4:):20:")
_MT940_BODY = re.compile(rb"(?m)^:(61|60F|60M):")
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MT940_NAMES = (".sta", ".mt940", ".940", ".swi")
_CSV_NAMES = (".csv", ".txt", ".tsv")


def detect_format(data: bytes, filename: str | None = None) -> str:
    """One of FORMATS, or UnknownFormat."""
    head = data[:_HEAD]
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    suffix = (filename or "").lower()
    if start.startswith(b"<"):
        namespace = _CAMT_NAMESPACE.search(head)
        if namespace:
            return namespace.group(1).decode()
        message = _CAMT_MESSAGE.search(head)
        if message:
            return MESSAGES[message.group(1).decode()]
        if _OFX.search(head):
            return "ofx"
        raise UnknownFormat("XML that is neither ISO 20022 camt nor OFX")
    if start[:9].upper() == b"OFXHEADER":
        return "ofx"
    if _MT940_START.search(head) and (_MT940_BODY.search(head) or suffix.endswith(_MT940_NAMES)):
        return "mt940"
    if not _looks_like_text(head):
        raise UnknownFormat("binary content")
    # Delimiters are ASCII: Latin-1 shows them whatever the real encoding (bar UTF-16).
    text = (
        decode_text(head) if head.startswith((b"\xff\xfe", b"\xfe\xff")) else head.decode("latin-1")
    )
    if sniff_delimiter(text) is not None or suffix.endswith(_CSV_NAMES):
        return "csv"
    raise UnknownFormat()


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    return b"\x00" not in head and len(_CONTROL.findall(head)) <= len(head) // 100
