"""What a video frame shows besides the result: trails, a counting line, FPS and latency."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from visiona.results.draw import color_for, draw_label_block


def draw_video_overlay(
    image: np.ndarray,
    *,
    trails: Mapping[int, Sequence[tuple[float, float]]] | None = None,
    line: tuple[float, float, float, float] | None = None,
    counts: Mapping[str, Mapping[str, int]] | None = None,
    hud: Sequence[str] = (),
    roi: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """``image`` (``(H, W, 3)`` uint8 RGB) with trails, line, counts and HUD lines drawn."""
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    width = max(2, min(canvas.size) // 240)
    if roi is not None:
        draw.rectangle(roi, outline=(255, 255, 0), width=width)
    for track, points in (trails or {}).items():
        if len(points) > 1:
            draw.line([tuple(p) for p in points], fill=color_for(int(track)), width=width)
    if line is not None:
        draw.line(line, fill=(255, 255, 255), width=width + 1)
        text = [f"{label}: in {c['in']} out {c['out']}" for label, c in (counts or {}).items()]
        draw_label_block(canvas, text or ["count: 0"], origin=(int(line[0]), int(line[1])),
                         color=(40, 40, 40))  # fmt: skip
    if hud:
        draw_label_block(canvas, list(hud), origin=(0, 0), color=(0, 0, 0))
    return np.asarray(canvas)


def hud_lines(fps: float | None, latency_ms: float | None, extra: Sequence[str] = ()) -> list[str]:
    parts: list[Any] = []
    if fps:
        parts.append(f"{fps:.1f} FPS")
    if latency_ms is not None:
        parts.append(f"{latency_ms:.0f} ms")
    return [" · ".join(parts), *extra] if parts else list(extra)
