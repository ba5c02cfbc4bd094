"""Small query helpers shared by list services."""

from __future__ import annotations


def escape_like(text: str) -> str:
    """Escape LIKE wildcards so user text matches literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(column, text: str):
    """Case-insensitive substring match on ``column``."""
    return column.ilike(f"%{escape_like(text)}%", escape="\\")
