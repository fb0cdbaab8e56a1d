"""``visiona explain cam|features|kernels`` and ``visiona summary``: what a network looks at and
what its layers compute."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from visiona.cli.output import OutputNamer, scanned_folders, stderr_console, stdout_console
from visiona.errors import UsageError

app = typer.Typer(
    help="Explain models: Grad-CAM heat maps, feature maps, kernels.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_MODEL = typer.Option(..., "--model", "-m", help="Model name or checkpoint (runs/x/best).")
_RANDOM = typer.Option(False, "--random-init", help="Random weights (no download).")
_WEIGHTS = typer.Option(None, "--weights", help="Local weights file for MODEL.")


def _load(model: str, random_init: bool, weights: Path | None) -> Any:
    from visiona.cli.export import load_for_cli

    return load_for_cli(model, None, random_init, weights)


def _write_png(array: Any, path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _default_output(output: Path | None, name: str) -> Path:
    path = output or Path("explain") / name
    if path.suffix.lower() != ".png":
        raise UsageError(f"-o {str(path)!r}: write the picture as a .png file")
    return path


@app.command("cam")
def cam(
    images: list[str] = typer.Argument(..., help="Images, folders or globs."),
    model: str = _MODEL,
    method: str = typer.Option(
        None,
        "--method",
        help="gradcam (classifiers' default), gradcam++, xgradcam, layercam, eigencam "
        "(detectors' default), eigengradcam, hirescam, scorecam or ablationcam.",
    ),
    target: str = typer.Option(
        None,
        "--target",
        help="Class to explain, by name or index (default: the top-1); for detectors the "
        "detection's rank (default 0, the highest score).",
    ),
    conf: float = typer.Option(
        None, "--conf", min=0.0, max=1.0, help="Detectors: lowest score of a box to explain."
    ),
    layer: str = typer.Option(
        None, "--layer", help="Layer to use (default: chosen per architecture; see --layers)."
    ),
    aug_smooth: bool = typer.Option(False, "--aug-smooth", help="Average over flips/scales."),
    eigen_smooth: bool = typer.Option(False, "--eigen-smooth", help="First principal component."),
    save: Path = typer.Option(
        Path("explain"), "--save", help="Folder for the overlay PNGs (default: explain/)."
    ),
    random_init: bool = _RANDOM,
    weights: Path = _WEIGHTS,
    max_pixels: int = typer.Option(None, "--max-pixels", help="Decoding limit per image."),
    as_json: bool = typer.Option(False, "--json", help="Print the explanations as JSON."),
) -> None:
    """Grad-CAM family heat maps: which pixels drove a classifier's (or detector's) prediction.

    Example: visiona explain cam cat.jpg -m efficientnet_lite0 --method gradcam++
    Exit codes: 0 ok, 1 some images could not be read, 2 bad usage.
    """
    from PIL import Image

    from visiona.data.sources import expand_inputs
    from visiona.engine.explain import explain_images
    from visiona.engine.explain.detector_cam import DETECTION_TASKS

    files = expand_inputs(images)
    loaded = _load(model, random_init, weights)
    chosen = method or ("eigencam" if loaded.task in DETECTION_TASKS else "gradcam")
    tag = chosen.lower().replace("+", "p")
    namer = OutputNamer(save, files, task=tag, scanned=scanned_folders(images))
    err = stderr_console()
    results, saved, failed = [], [], 0
    options: dict[str, Any] = {"method": method}
    if conf is not None:
        options["conf"] = conf
    if layer is not None or aug_smooth or eigen_smooth:
        options.update(layer=layer, aug_smooth=aug_smooth, eigen_smooth=eigen_smooth)
    with err.status("explaining"):
        for source, explanation, image in explain_images(
            loaded, files, target=target, max_pixels=max_pixels, **options
        ):
            if explanation is None:
                err.print(f"error: {image}", markup=False)
                failed += 1
                continue
            path = namer.path_for(source)
            Image.fromarray(explanation.draw(image.array)).save(path)
            saved.append(path)
            results.append(explanation)
    if as_json:
        json.dump([r.to_dict() for r in results], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        out = stdout_console()
        for explanation in results:
            x, y = explanation.peak
            out.print(
                f"{explanation.source}: {explanation.target_name} "
                f"({explanation.score:.2f}), layer {explanation.layer}, peak at ({x}, {y})",
                markup=False,
            )
    if saved:
        err.print(f"overlays ({len(saved)}) saved to {saved[0].parent}:", markup=False)
        for path in saved:
            err.print(f"  {path}", markup=False)
    if failed:
        raise typer.Exit(1)


@app.command("features")
def features(
    image: str = typer.Argument(None, help="Image to run through the model."),
    model: str = _MODEL,
    layer: str = typer.Option(None, "--layer", help="Layer whose output to draw."),
    list_layers: bool = typer.Option(False, "--layers", help="List the layer names and exit."),
    limit: int = typer.Option(64, "--limit", min=1, help="Channels to draw at most."),
    output: Path = typer.Option(None, "--output", "-o", help="PNG to write."),
    random_init: bool = _RANDOM,
    weights: Path = _WEIGHTS,
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """Feature maps of one image at a named layer, as a grid (or --layers to list names).

    Example: visiona explain features cat.jpg -m resnet18 --layer layer1
    """
    import torch

    from visiona.engine.explain.cam import torch_module
    from visiona.engine.explain.features import feature_maps
    from visiona.engine.explain.layers import output_shapes
    from visiona.io.images import load_image

    loaded = _load(model, random_init, weights)
    if list_layers:
        module = torch_module(loaded)
        height, width = loaded.weights.preprocessing.input_size
        shapes = dict(output_shapes(module, torch.zeros(1, 3, height, width)))
        names = [name for name, _ in module.named_modules() if name]
        if as_json:
            json.dump([{"name": n, "output_shape": shapes.get(n)} for n in names], sys.stdout)
            sys.stdout.write("\n")
            return
        out = stdout_console()
        for name in names:
            shape = shapes.get(name)
            kind = type(module.get_submodule(name)).__name__
            out.print(f"{name}  {kind}  {list(shape) if shape else ''}", markup=False)
        return
    if image is None or layer is None:
        raise UsageError("give an IMAGE and --layer NAME (or --layers to list the names)")
    picture = load_image(image)
    grid, shape = feature_maps(loaded, picture, layer, limit=limit)
    path = _default_output(output, f"{Path(image).stem}_{layer.replace('.', '-')}_features.png")
    _write_png(grid, path)
    shown = min(limit, shape[1])
    report = {
        "layer": layer,
        "output_shape": list(shape),
        "channels_drawn": shown,
        "path": str(path),
    }
    if as_json:
        json.dump(report, sys.stdout)
        sys.stdout.write("\n")
    stderr_console().print(
        f"{layer}: output {list(shape)}, {shown} of {shape[1]} channels drawn → {path}",
        markup=False,
    )


@app.command("kernels")
def kernels(
    model: str = _MODEL,
    layer: str = typer.Option(None, "--layer", help="Convolution to draw (default: the first)."),
    limit: int = typer.Option(64, "--limit", min=1, help="Filters to draw at most."),
    output: Path = typer.Option(None, "--output", "-o", help="PNG to write."),
    random_init: bool = _RANDOM,
    weights: Path = _WEIGHTS,
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """The filters of a convolution: the first layer's as RGB tiles, deeper ones in grey.

    Example: visiona explain kernels -m resnet18
    """
    from visiona.engine.explain.features import kernel_grid

    loaded = _load(model, random_init, weights)
    grid, name, shape = kernel_grid(loaded, layer, limit=limit)
    path = _default_output(output, f"{Path(loaded.architecture).name}_{name}_kernels.png")
    _write_png(grid, path)
    report = {"layer": name, "weight_shape": list(shape), "path": str(path)}
    if as_json:
        json.dump(report, sys.stdout)
        sys.stdout.write("\n")
    stderr_console().print(
        f"{name}: {shape[0]} filters of {shape[1]}×{shape[2]}×{shape[3]} → {path}", markup=False
    )


def summary(
    model: str = typer.Argument(
        None, help="Model name or checkpoint (runs/x/best) (or give it with -m)."
    ),
    model_option: str = typer.Option(None, "--model", "-m", help="The model, instead of MODEL."),
    image_size: int = typer.Option(
        None, "--image-size", min=8, help="Input side in pixels (default: the model's own)."
    ),
    depth: int = typer.Option(3, "--depth", min=1, help="Deepest nesting level listed."),
    random_init: bool = typer.Option(
        True, "--random-init/--pretrained", help="Shapes and counts need no weights."
    ),
    weights: Path = _WEIGHTS,
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Layer by layer: shapes, parameters, MACs, receptive field and conv arithmetic.

    Parameters are split into trainable and frozen; the receptive field and the stride are
    counted from the input up to each layer; every conv/pool layer shows its size formula.

    Example: visiona summary resnet18 --image-size 224
    """
    from rich.table import Table

    from visiona.cli.conventions import model_argument
    from visiona.engine.explain.cam import torch_module
    from visiona.engine.explain.summary import summarize

    loaded = _load(model_argument(model, model_option), random_init, weights)
    height, width = loaded.weights.preprocessing.input_size
    if image_size is not None:
        height = width = image_size
    result = summarize(
        torch_module(loaded), (1, 3, height, width), name=loaded.architecture, depth=depth
    )
    if as_json:
        json.dump(result.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    table = Table(title=f"{result.model}, input {list(result.input_shape)}")
    for column in ("layer", "type", "output", "params", "MACs", "RF", "stride", "arithmetic"):
        table.add_column(column, justify="right" if column in ("params", "MACs") else "left")
    for row in result.rows:
        table.add_row(
            "  " * (row.depth - 1) + row.name,
            row.type,
            str(list(row.output_shape)) if row.output_shape else "",
            f"{row.params:,}" + (" (frozen)" if row.params and not row.trainable else ""),
            f"{row.macs:,}" if row.macs else "",
            str(row.receptive_field[0]) if row.receptive_field else "",
            str(row.jump[0]) if row.jump else "",
            row.arithmetic.formula() if row.arithmetic else "",
        )
    out = stdout_console()
    out.print(table)
    out.print(
        f"parameters: {result.total_params:,} ({result.trainable_params:,} trainable, "
        f"{result.frozen_params:,} frozen); MACs: {result.total_macs:,}; output "
        f"{list(result.output_shape) if result.output_shape else '?'}",
        markup=False,
    )


def report(
    run: Path = typer.Argument(..., help="A run folder written by visiona train."),
    no_cam: bool = typer.Option(False, "--no-cam", help="Skip Grad-CAM of the hardest images."),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """Write RUN/report.html: one self-contained page with everything the run folder holds.

    Example: visiona report runs/classify/train
    """
    from visiona.engine.report import write_report

    err = stderr_console()
    with err.status("writing report.html"):
        written = write_report(run, with_cam=not no_cam)
    if as_json:
        json.dump(
            {"path": str(written.path), "sections": written.sections, "images": written.images},
            sys.stdout,
        )
        sys.stdout.write("\n")
    err.print(
        f"wrote {written.path} ({len(written.sections)} sections, {len(written.images)} images)",
        markup=False,
    )
