"""Contact sheets: a grid of thumbnails with captions, saved as a PNG (no matplotlib needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

THUMBNAIL = 160
CAPTION = 18


def thumbnails_sheet(
    items: Sequence[tuple[str | Path | None, str]],
    path: str | Path,
    *,
    columns: int = 6,
    title: str | None = None,
) -> Path:
    """Write ``(image path, caption)`` pairs as a grid PNG to ``path`` (atomically).

    Unreadable images become grey tiles (the caption still says which hit it was).
    """
    import os
    import tempfile

    from visiona.errors import ImageLoadError
    from visiona.io.images import load_image
    from visiona.results.draw import font

    columns = max(1, min(columns, len(items) or 1))
    rows = max(1, -(-len(items) // columns))
    top = CAPTION + 6 if title else 0
    tile_h = THUMBNAIL + CAPTION
    sheet = Image.new("RGB", (columns * THUMBNAIL, top + rows * tile_h), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    text_font = font(12)
    if title:
        draw.text((4, 4), title, fill=(0, 0, 0), font=text_font)
    for number, (image_path, caption) in enumerate(items):
        x, y = (number % columns) * THUMBNAIL, top + (number // columns) * tile_h
        try:
            tile = Image.fromarray(load_image(image_path).array) if image_path else None
        except ImageLoadError:
            tile = None
        if tile is None:
            tile = Image.fromarray(np.full((THUMBNAIL, THUMBNAIL, 3), 200, np.uint8))
        tile.thumbnail((THUMBNAIL - 4, THUMBNAIL - 4))
        sheet.paste(tile, (x + (THUMBNAIL - tile.width) // 2, y + CAPTION))
        draw.text((x + 3, y + 2), caption[:28], fill=(0, 0, 0), font=text_font)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".png.tmp", delete=False) as tmp:
        sheet.save(tmp, format="PNG")
        tmp.flush()
        os.fsync(tmp.fileno())
    os.replace(tmp.name, path)
    return path
