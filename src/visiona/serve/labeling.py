"""The mask painter's API: list a folder's images, read them, read and save their masks.

The page is ``/label/masks`` (``static/painter.html``). Folders are paths on the server inside
the label root (``visiona serve --label-root DIR``; without it the painter is off). Masks are
saved as palette PNGs (pixel value = class id) into a separate labels folder
(``LABELS/masks/STEM.png``, default ``IMAGES-labels`` beside the images folder), with
``LABELS/dataset.json`` naming the classes, their colours and the images folder, so
``visiona train segment --data LABELS`` trains on it directly. The images folder is never
written to; a labels folder inside or equal to it is refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import Request  # FastAPI resolves the handlers' annotations in this module

from visiona.data.detection.annotations import scan_images
from visiona.results.segmentation import IGNORE_INDEX, default_colors, write_palette_png

DEFAULT_CLASSES = ("background", "foreground")
MAX_CLASSES = 32


class LabelError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def resolve_folders(root: Path | None, folder: str, labels: str | None) -> tuple[Path, Path]:
    """The images folder and the labels folder, both checked to lie inside ``root``."""
    if root is None:
        raise LabelError(403, "the mask painter is off; start the server with --label-root DIR")
    if not folder:
        raise LabelError(400, "give a folder of images")
    images = (root / folder).resolve() if not Path(folder).is_absolute() else Path(folder).resolve()
    if not _inside(images, root):
        raise LabelError(403, f"{folder!r} is outside the label root {root}")
    if not images.is_dir():
        raise LabelError(404, f"no folder {folder!r} on the server")
    if labels:
        target = Path(labels)
        target = (target if target.is_absolute() else root / target).resolve()
    else:
        target = images.with_name(images.name + "-labels")
    if not _inside(target, root):
        raise LabelError(403, f"labels folder {labels!r} is outside the label root {root}")
    if _inside(target, images):
        raise LabelError(
            400, "the labels folder must not be the images folder or inside it; pick another"
        )
    return images, target


def read_meta(labels: Path, images: Path, classes: str | None) -> dict[str, Any]:
    """Classes and colours: the labels folder's ``dataset.json``, else ``classes`` (a comma
    list), else background/foreground."""
    meta_file = labels / "dataset.json"
    if meta_file.is_file():
        data = json.loads(meta_file.read_text())
        names = [str(c) for c in data["classes"]]
        colors = data.get("colors") or [list(c) for c in default_colors(len(names))]
    else:
        names = [c.strip() for c in (classes or "").split(",") if c.strip()] or list(
            DEFAULT_CLASSES
        )
        colors = [list(c) for c in default_colors(len(names))]
    if not 1 <= len(names) <= MAX_CLASSES:
        raise LabelError(400, f"1-{MAX_CLASSES} classes, got {len(names)}")
    return {"classes": names, "colors": colors, "images": str(images), "ignore_index": 255}


def list_images(images: Path, labels: Path) -> list[dict[str, Any]]:
    out = []
    for path in scan_images(images):
        name = path.relative_to(images).as_posix()
        mask = labels / "masks" / Path(name).with_suffix(".png")
        out.append({"name": name, "labelled": mask.is_file()})
    return out


def image_path(images: Path, name: str) -> Path:
    path = (images / name).resolve()
    if not _inside(path, images) or not path.is_file():
        raise LabelError(404, f"no image {name!r} in {images}")
    return path


def mask_path(labels: Path, name: str) -> Path:
    path = (labels / "masks" / Path(name).with_suffix(".png")).resolve()
    if not _inside(path, labels / "masks"):
        raise LabelError(400, f"bad image name {name!r}")
    return path


def read_mask_ids(labels: Path, name: str, width: int, height: int) -> bytes | None:
    """The saved mask's class ids as raw bytes (row-major), or None when not labelled yet."""
    from PIL import Image

    path = mask_path(labels, name)
    if not path.is_file():
        return None
    with Image.open(path) as mask:
        ids = np.asarray(mask if mask.mode in ("P", "L") else mask.convert("L"), np.uint8)
    if ids.shape != (height, width):
        raise LabelError(
            409, f"saved mask is {ids.shape[1]}×{ids.shape[0]}, image {width}×{height}"
        )
    return ids.tobytes()


def save_mask(
    images: Path, labels: Path, name: str, width: int, height: int, body: bytes, meta: dict
) -> Path:
    """Write the painted ids (raw row-major bytes) as ``LABELS/masks/STEM.png`` and
    ``LABELS/dataset.json``."""
    image_path(images, name)
    if width < 1 or height < 1 or len(body) != width * height:
        raise LabelError(400, f"mask body must be {width}×{height} bytes, got {len(body)}")
    ids = np.frombuffer(body, np.uint8).reshape(height, width)
    bad = (ids >= len(meta["classes"])) & (ids != IGNORE_INDEX)
    if bad.any():
        raise LabelError(400, f"class id {int(ids[bad][0])} is not one of the classes")
    path = write_palette_png(mask_path(labels, name), ids, [tuple(c) for c in meta["colors"]])
    meta_file = labels / "dataset.json"
    partial = meta_file.with_name(".dataset.json.part")
    partial.write_text(json.dumps(meta, indent=2))
    os.replace(partial, meta_file)
    return path


def add_label_routes(app: Any, root: str | Path | None, static: Path) -> None:
    """Register ``/label/masks`` and ``/v1/label/*`` on the FastAPI ``app``."""
    from fastapi.responses import FileResponse, JSONResponse, Response
    from starlette.concurrency import run_in_threadpool

    label_root = Path(root).expanduser().resolve() if root else None

    def error(exc: LabelError) -> JSONResponse:
        return JSONResponse(
            {"error": {"code": exc.status, "message": exc.message}}, status_code=exc.status
        )

    @app.get("/label/masks", include_in_schema=False)
    async def painter() -> FileResponse:
        return FileResponse(static / "painter.html")

    @app.get("/v1/label/folder", tags=["label"])
    async def folder_info(folder: str, labels: str | None = None, classes: str | None = None):
        """Images of ``folder``, whether each has a mask, the classes and the labels folder."""
        try:
            images, target = resolve_folders(label_root, folder, labels)
            meta = read_meta(target, images, classes)
            return {
                **meta,
                "folder": str(images),
                "images": list_images(images, target),
                "labels": str(target),
            }
        except LabelError as exc:
            return error(exc)

    @app.get("/v1/label/image", tags=["label"])
    async def get_image(folder: str, name: str):
        try:
            images, _ = resolve_folders(label_root, folder, None)
            return FileResponse(image_path(images, name))
        except LabelError as exc:
            return error(exc)

    @app.get("/v1/label/mask", tags=["label"])
    async def get_mask(folder: str, name: str, width: int, height: int, labels: str | None = None):
        """The saved class ids as raw bytes (204 when the image has no mask yet)."""
        try:
            _, target = resolve_folders(label_root, folder, labels)
            data = await run_in_threadpool(read_mask_ids, target, name, width, height)
        except LabelError as exc:
            return error(exc)
        if data is None:
            return Response(status_code=204)
        return Response(data, media_type="application/octet-stream")

    @app.put("/v1/label/mask", tags=["label"])
    async def put_mask(
        request: Request,
        folder: str,
        name: str,
        width: int,
        height: int,
        labels: str | None = None,
        classes: str | None = None,
    ):
        """Save raw row-major class ids (``width × height`` bytes) as a palette PNG."""
        body = await request.body()
        try:
            images, target = resolve_folders(label_root, folder, labels)
            meta = read_meta(target, images, classes)
            path = await run_in_threadpool(
                save_mask, images, target, name, width, height, body, meta
            )
        except LabelError as exc:
            return error(exc)
        return {"saved": str(path), "labels": str(target)}
