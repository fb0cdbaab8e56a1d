"""JSON parsing that remembers where each element of COCO's top-level arrays starts.

The reader reports problems with a line number; :func:`json.loads` forgets positions, so the
top-level ``images`` / ``annotations`` / ``categories`` arrays are decoded element by element.
"""

from __future__ import annotations

import json
import re
from typing import Any

ARRAYS = ("images", "annotations", "categories")

_WS = re.compile(r"[ \t\n\r]*")


def load_with_offsets(text: str) -> tuple[Any, dict[str, list[int]]]:
    """Parse JSON and note where each element of the top-level arrays starts (char offsets).

    Raises:
        json.JSONDecodeError: Invalid JSON (its ``lineno`` says where).
    """
    decoder = json.JSONDecoder()
    pos = _WS.match(text, 0).end()  # type: ignore[union-attr]
    if not text.startswith("{", pos):
        return json.loads(text), {}
    data: dict[str, Any] = {}
    offsets: dict[str, list[int]] = {}
    pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    if text.startswith("}", pos):
        pos += 1
    else:
        while True:
            if not text.startswith('"', pos):
                raise json.JSONDecodeError(
                    "Expecting property name enclosed in double quotes", text, pos
                )
            key, pos = decoder.raw_decode(text, pos)
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if not text.startswith(":", pos):
                raise json.JSONDecodeError("Expecting ':' delimiter", text, pos)
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            if key in ARRAYS and text.startswith("[", pos):
                items: list[Any] = []
                starts: list[int] = []
                pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
                if text.startswith("]", pos):
                    pos += 1
                else:
                    while True:
                        starts.append(pos)
                        item, pos = decoder.raw_decode(text, pos)
                        items.append(item)
                        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
                        if text.startswith(",", pos):
                            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
                            continue
                        if text.startswith("]", pos):
                            pos += 1
                            break
                        raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
                data[key], offsets[key] = items, starts
            else:
                data[key], pos = decoder.raw_decode(text, pos)
                offsets.pop(key, None)
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if text.startswith(",", pos):
                pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
                continue
            if text.startswith("}", pos):
                pos += 1
                break
            raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
    if _WS.match(text, pos).end() != len(text):  # type: ignore[union-attr]
        raise json.JSONDecodeError("Extra data", text, pos)
    return data, offsets


def line_numbers(text: str, offsets: list[int]) -> list[int]:
    """1-based line numbers of ascending character offsets."""
    lines = []
    line, last = 1, 0
    for offset in offsets:
        line += text.count("\n", last, offset)
        last = offset
        lines.append(line)
    return lines
