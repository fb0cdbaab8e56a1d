"""A synthetic tracking set: shapes moving, crossing and passing behind an occluder.

``visiona data make tracks DIR`` writes, MOTChallenge style::

    DIR/video.mp4        the sequence (H.264)
    DIR/gt/gt.txt        frame,id,x,y,w,h,1,class,visibility  (1-based frames and ids, pixels)
    DIR/det/det.txt      frame,-1,x,y,w,h,score,class          (ground-truth detections, jittered)
    DIR/seqinfo.ini      name, frame rate, length, size
    DIR/classes.txt      class names, one per line (class column = line number, 1-based)

Every object is a filled circle, square or triangle with its own colour, moving in a straight line
and bouncing off the borders; a grey bar stands in the middle and hides what passes behind it
(``visibility`` is the visible share of the box).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from visiona.errors import UsageError

CLASSES = ("circle", "square", "triangle")
_COLORS = ((230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
           (255, 225, 25), (70, 240, 240), (240, 50, 230))  # fmt: skip


@dataclass(frozen=True)
class TracksReport:
    out_dir: Path
    frames: int
    objects: int
    boxes: int
    video: Path


def _visible_share(box: np.ndarray, bar: tuple[float, float, float, float]) -> float:
    x0, y0, x1, y1 = box
    ix = max(0.0, min(x1, bar[2]) - max(x0, bar[0]))
    iy = max(0.0, min(y1, bar[3]) - max(y0, bar[1]))
    area = max((x1 - x0) * (y1 - y0), 1e-9)
    return float(1.0 - ix * iy / area)


def make_tracks(
    out_dir: str | Path,
    *,
    frames: int = 150,
    objects: int = 6,
    width: int = 320,
    height: int = 240,
    fps: float = 30.0,
    seed: int = 0,
    overwrite: bool = False,
) -> TracksReport:
    """Write the synthetic sequence to ``out_dir`` (see the module docstring)."""
    from visiona.data.video.writer import VideoWriter

    if frames < 2 or objects < 1 or width < 64 or height < 48:
        raise UsageError("tracks: need at least 2 frames, 1 object and 64×48 pixels")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise UsageError(f"'{out}' is not empty", "add --overwrite to replace the set")
        for name in ("gt", "det"):
            shutil.rmtree(out / name, ignore_errors=True)
    (out / "gt").mkdir(parents=True, exist_ok=True)
    (out / "det").mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    sizes = rng.uniform(0.08, 0.14, objects) * min(width, height) * 1.6
    positions = np.stack([rng.uniform(0, width - sizes), rng.uniform(0, height - sizes)], 1)
    speed = rng.uniform(1.0, 3.5, objects) * min(width, height) / 240
    angle = rng.uniform(0, 2 * np.pi, objects)
    velocity = np.stack([np.cos(angle), np.sin(angle)], 1) * speed[:, None]
    classes = rng.integers(0, len(CLASSES), objects)
    bar = (width * 0.46, 0.0, width * 0.54, float(height))
    gt_lines, det_lines, boxes = [], [], 0
    video = out / "video.mp4"
    with VideoWriter(video, fps) as writer:
        for frame in range(frames):
            canvas = Image.new("RGB", (width, height), (24, 24, 32))
            draw = ImageDraw.Draw(canvas)
            for i in range(objects):
                x, y = positions[i]
                s = sizes[i]
                box = np.array([x, y, x + s, y + s])
                color = _COLORS[i % len(_COLORS)]
                if CLASSES[classes[i]] == "circle":
                    draw.ellipse(tuple(box), fill=color)
                elif CLASSES[classes[i]] == "square":
                    draw.rectangle(tuple(box), fill=color)
                else:
                    draw.polygon([(x + s / 2, y), (x, y + s), (x + s, y + s)], fill=color)
                visible = _visible_share(box, bar)
                row = f"{x:.2f},{y:.2f},{s:.2f},{s:.2f}"
                gt_lines.append(f"{frame + 1},{i + 1},{row},1,{classes[i] + 1},{visible:.3f}")
                boxes += 1
                if visible >= 0.5:
                    jitter = rng.normal(0, 0.5, 4)
                    jx, jy = x + jitter[0], y + jitter[1]
                    js = max(2.0, s + jitter[2])
                    score = float(np.clip(0.95 - 0.3 * (1 - visible), 0.3, 1.0))
                    det_lines.append(f"{frame + 1},-1,{jx:.2f},{jy:.2f},{js:.2f},{js:.2f},"
                                     f"{score:.3f},{classes[i] + 1}")  # fmt: skip
            draw.rectangle(bar, fill=(128, 128, 128))
            writer.write(np.asarray(canvas))
            positions += velocity
            for axis, limit in ((0, width), (1, height)):  # bounce off the borders
                low = positions[:, axis] < 0
                high = positions[:, axis] + sizes > limit
                velocity[low | high, axis] *= -1
                positions[:, axis] = np.clip(positions[:, axis], 0, limit - sizes)
    (out / "gt" / "gt.txt").write_text("\n".join(gt_lines) + "\n")
    (out / "det" / "det.txt").write_text("\n".join(det_lines) + "\n")
    (out / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    (out / "seqinfo.ini").write_text(
        f"[Sequence]\nname={out.name}\nimDir=video.mp4\nframeRate={fps:g}\n"
        f"seqLength={frames}\nimWidth={width}\nimHeight={height}\nimExt=.mp4\n"
    )
    return TracksReport(out, frames, objects, boxes, video)
