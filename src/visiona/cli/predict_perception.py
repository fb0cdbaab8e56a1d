"""``visiona predict faces|pose|hands|facemesh|matting``: packaged pretrained perception models.

These commands use :class:`~visiona.engine.predict.packaged.PerceptionPredictor` (MediaPipe, dlib,
OpenCV and MTCNN models are image → result callables, not torch modules) and share the
progress, JSON, overlay and summary helpers of ``visiona predict``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from visiona import defaults
from visiona.cli.conventions import deprecated_option, take_deprecated
from visiona.cli.output import OutputNamer, stderr_console, stdout_console
from visiona.cli.predict import (
    _count,
    _exit_if_failed,
    _ok,
    _print_json,
    _print_summary,
    _run_with_progress,
    _save_overlay,
)
from visiona.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from visiona.engine.predict.predictor import PredictionItem

_PATHS = typer.Argument(..., help="Image files, folders or glob patterns.")
_JSON = typer.Option(False, "--json", help="Print results as JSON to stdout.")
_SAVE = typer.Option(None, "--save", help="Write annotated images to this folder.")
_MAX_PIXELS = typer.Option(
    None, "--max-pixels", min=1, help="Refuse images above this many pixels."
)


def _conf(default: float | None, what: str) -> Any:
    shown = f" (default: {default})" if default is not None else " (default: the backend's own)"
    return typer.Option(default, "--conf", min=0.0, help=f"Minimum {what} score{shown}.")


def _run_perception(
    task: str,
    paths: list[str],
    *,
    backend: str | None,
    save: Path | None,
    max_pixels: int | None,
    options: dict[str, Any],
) -> tuple[list[PredictionItem], OutputNamer | None, Console]:
    from visiona.data.sources import expand_inputs
    from visiona.engine.predict.packaged import PerceptionPredictor

    files = expand_inputs(paths)
    namer = OutputNamer(save, files, task=task) if save else None
    err = stderr_console()
    predictor = PerceptionPredictor(task, backend, max_pixels=max_pixels, **options)
    items = _run_with_progress(predictor.stream(files), len(files), err)
    return items, namer, err


def _finish(
    items: list[PredictionItem],
    namer: OutputNamer | None,
    err: Console,
    as_json: bool,
    noun: str,
) -> None:
    saved = [_save_overlay(item, namer) for item in items if namer and item.ok]
    ok = _ok(items)
    if as_json:
        _print_json(items)
    elif ok:
        from rich.table import Table

        table = Table()
        for column, justify in (("image", "left"), (f"{noun}s", "right"), ("details", "left")):
            table.add_column(column, justify=justify)
        for item in ok:
            table.add_row(item.source, str(len(item.result)), _details(item.result))
        stdout_console().print(table)
    found = sum(len(item.result) for item in ok)
    _print_summary(items, saved, err, f"found {_count(found, noun)} in {_count(ok, 'image')}")
    _exit_if_failed(items)


def _details(result: Any) -> str:
    from visiona.results.faces import Faces

    if isinstance(result, Faces):
        return ", ".join(
            f"[{', '.join(f'{v:.0f}' for v in box)}] {score:.2f}"
            for box, score in zip(result.xyxy, result.scores, strict=True)
        )
    parts = []
    for i in range(len(result)):
        label = f"{result.labels[i]} " if result.labels else ""
        visible = int((result.visibility[i] >= 0.5).sum())
        parts.append(f"{label}{visible}/{len(result.names)} points visible")
    return "; ".join(parts)


def register(app: typer.Typer) -> None:
    """Add the perception commands to the ``visiona predict`` Typer app."""

    @app.command("faces")
    def faces(
        paths: list[str] = _PATHS,
        model: str = typer.Option(
            None,
            "--model",
            "-m",
            help="Face detector: blazeface (default; short range), blazeface_full, hog, "
            "cnn (dlib MMOD), haar, mtcnn.",
        ),
        conf: float = _conf(None, "face"),
        as_json: bool = _JSON,
        save: Path = _SAVE,
        max_pixels: int = _MAX_PIXELS,
        old_backend: str = deprecated_option("--backend", "-b", new="-m/--model"),
    ) -> None:
        """Detect faces: boxes (xyxy pixels), scores and five landmarks.

        Exit codes: 0 all images processed, 1 some images could not be read, 2 bad usage.
        """
        model = take_deprecated(model, old_backend, "--backend/-b", "-m/--model")
        items, namer, err = _run_perception(
            "faces", paths, backend=model, save=save, max_pixels=max_pixels,
            options={"conf": conf},
        )  # fmt: skip
        _finish(items, namer, err, as_json, "face")

    @app.command("pose")
    def pose(
        paths: list[str] = _PATHS,
        model: str = typer.Option(
            None, "--model", "-m", help="Landmark model: lite, full (default) or heavy."
        ),
        conf: float = _conf(defaults.PERCEPTION_CONF, "person-detection"),
        as_json: bool = _JSON,
        save: Path = _SAVE,
        max_pixels: int = _MAX_PIXELS,
        complexity: str = deprecated_option("--complexity", "-c", new="-m/--model"),
    ) -> None:
        """Body pose: 33 landmarks with visibility (MediaPipe Pose), main person per image."""
        model = take_deprecated(model, complexity, "--complexity/-c", "-m/--model")
        items, namer, err = _run_perception(
            "pose", paths, backend=model, save=save, max_pixels=max_pixels,
            options={"conf": conf},
        )  # fmt: skip
        _finish(items, namer, err, as_json, "pose")

    @app.command("hands")
    def hands(
        paths: list[str] = _PATHS,
        model: str = typer.Option(
            None, "--model", "-m", help="Hand model: mediapipe (the only one, default)."
        ),
        max_hands: int = typer.Option(2, "--max-hands", min=1, help="Most hands per image."),
        conf: float = _conf(defaults.PERCEPTION_CONF, "palm-detection"),
        mirrored: bool = typer.Option(
            False,
            "--mirrored",
            help="Images are mirrored selfies (webcam): keep MediaPipe's labels.",
        ),
        as_json: bool = _JSON,
        save: Path = _SAVE,
        max_pixels: int = _MAX_PIXELS,
    ) -> None:
        """Hands: 21 landmarks and handedness (Left/Right: the person's own hand) per hand."""
        items, namer, err = _run_perception(
            "hands", paths, backend=model, save=save, max_pixels=max_pixels,
            options={"conf": conf, "max_hands": max_hands, "mirrored": mirrored},
        )  # fmt: skip
        _finish(items, namer, err, as_json, "hand")

    @app.command("facemesh")
    def facemesh(
        paths: list[str] = _PATHS,
        model: str = typer.Option(
            None, "--model", "-m", help="Face mesh model: mediapipe (the only one, default)."
        ),
        max_faces: int = typer.Option(1, "--max-faces", min=1, help="Most faces per image."),
        conf: float = _conf(defaults.PERCEPTION_CONF, "face-detection"),
        as_json: bool = _JSON,
        save: Path = _SAVE,
        max_pixels: int = _MAX_PIXELS,
    ) -> None:
        """Face mesh: 478 landmarks (face + irises) per face."""
        items, namer, err = _run_perception(
            "facemesh", paths, backend=model, save=save, max_pixels=max_pixels,
            options={"conf": conf, "max_faces": max_faces},
        )  # fmt: skip
        _finish(items, namer, err, as_json, "face mesh")

    @app.command("matting")
    def matting(
        paths: list[str] = _PATHS,
        model: str = typer.Option(
            None, "--model", "-m", help="Selfie segmentation model: general (default) or landscape."
        ),
        threshold: float = typer.Option(
            defaults.MATTING_THRESHOLD,
            "--threshold",
            min=0.0,
            max=1.0,
            help="Alpha above which a pixel is the person.",
        ),
        remove_background: bool = typer.Option(
            False,
            "--remove-background",
            help="Write NAME_alpha.png, NAME_cutout.png (RGBA) and NAME_background.png to --save.",
        ),
        background: str = typer.Option(
            "#00b140", "--background", help="New background: #RRGGBB colour or an image file."
        ),
        as_json: bool = _JSON,
        save: Path = _SAVE,
        max_pixels: int = _MAX_PIXELS,
    ) -> None:
        """Person segmentation (MediaPipe selfie segmentation) and background removal."""
        if remove_background and save is None:
            raise UsageError("--remove-background writes files: give a folder with --save DIR")
        new_background = _parse_background(background) if remove_background else None
        items, namer, err = _run_perception(
            "matting", paths, backend=model, save=None, max_pixels=max_pixels,
            options={"threshold": threshold},
        )  # fmt: skip
        if save is not None:
            from visiona.data.sources import expand_inputs

            files = expand_inputs(paths)
            namer = OutputNamer(save, files, task="matting")
        if remove_background and namer is not None:
            plain = OutputNamer(save, files)
            written = [
                path
                for item in _ok(items)
                for path in _write_background_removal(item, plain, new_background)
            ]
            err.print(f"background removal: {len(written)} files written to {save}", markup=False)
            namer = None
        if as_json:
            _print_json(items)
        else:
            for item in _ok(items):
                stdout_console().print(
                    f"{item.source}: person covers {item.result.coverage:.1%} of the image",
                    markup=False, highlight=False,
                )  # fmt: skip
        saved = [_save_overlay(item, namer) for item in items if namer and item.ok]
        _print_summary(items, saved, err, f"segmented {_count(_ok(items), 'image')}")
        _exit_if_failed(items)


def _parse_background(value: str) -> Any:
    """``#RRGGBB`` → an RGB tuple; anything else must be a readable image file."""
    if value.startswith("#"):
        if len(value) != 7:
            raise UsageError(f"--background {value!r}: use #RRGGBB or an image file")
        try:
            return tuple(int(value[i : i + 2], 16) for i in (1, 3, 5))
        except ValueError:
            raise UsageError(f"--background {value!r}: use #RRGGBB or an image file") from None
    from visiona.io.images import load_image

    return load_image(value).array


def _write_background_removal(
    item: PredictionItem, namer: OutputNamer, background: Any
) -> list[Path]:
    from PIL import Image

    stem = Path(item.source).stem
    matte, pixels = item.result, item.image.array
    outputs = {
        namer.path_for(f"{stem}_alpha.png"): matte.alpha_image(),
        namer.path_for(f"{stem}_cutout.png"): matte.cutout(pixels),
        namer.path_for(f"{stem}_background.png"): Image.fromarray(
            matte.replace_background(pixels, background)
        ),
    }
    for path, image in outputs.items():
        image.save(path)
    return list(outputs)
