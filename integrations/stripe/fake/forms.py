"""Stripe's request encoding: form fields with brackets (``metadata[k]=v``, ``items[0]=x``)."""

from __future__ import annotations

import itertools
import re
from urllib.parse import parse_qsl

_PART = re.compile(r"\[([^\]]*)\]")


def _path(key: str) -> list[str]:
    head = key.split("[", 1)[0]
    return [head, *_PART.findall(key[len(head) :])]


def decode(body: str) -> dict:
    """``a=1&metadata[k]=v&types[0]=card&expand[]=x`` → nested dicts and lists."""
    tree: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = _path(key)
        node = tree
        for here, following in itertools.pairwise(parts):
            default: dict | list = [] if following == "" or following.isdigit() else {}
            node = _child(node, here, default)
        _put(node, parts[-1], value)
    return tree


def _child(node, key: str, default):
    if isinstance(node, list):
        if key == "" or int(key) >= len(node):
            node.append(default)
            return node[-1]
        return node[int(key)]
    return node.setdefault(key, default)


def _put(node, key: str, value: str) -> None:
    if isinstance(node, list):
        node.append(value)
    else:
        node[key] = value
