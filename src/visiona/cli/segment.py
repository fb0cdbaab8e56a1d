"""``visiona train|evaluate|predict segment``: semantic segmentation commands.

Registered on the mode apps by :func:`register` (kept here so the family's options live in one
module).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from visiona.cli.output import OutputNamer, stderr_console, stdout_console


def register_train(app: typer.Typer) -> None:
    @app.command("segment")
    def train_segment(
        data: str = typer.Option(
            None, "--data", "-d", help="images/ + masks/ (or train/ val/), VOC or COCO folder."
        ),
        model: str = typer.Option(
            None,
            "--model",
            "-m",
            help="unet_tiny (default), unet, unetplusplus, fpn, "
            "deeplabv3plus, a torchvision model (--pretrained) or a checkpoint.",
        ),
        pretrained: bool = typer.Option(
            None, "--pretrained/--scratch", help="ImageNet encoder (smp models)."
        ),
        arch_opt: list[str] = typer.Option(
            None, "--arch-opt", help="e.g. encoder=resnet18, encoder=efficientnet_lite0, width=16."
        ),
        crop: int = typer.Option(None, "--crop", help="Random crop side for training (256)."),
        crops_per_epoch: int = typer.Option(
            None, "--crops-per-epoch", help="Random crops per epoch (default: covers each image)."
        ),
        loss: str = typer.Option(None, "--loss", help="ce, dice, focal or ce+dice (default)."),
        class_weights: str = typer.Option(
            None, "--class-weights", help="auto (inverse sqrt frequency) or w0,w1,..."
        ),
        epochs: int = typer.Option(None, "--epochs", "-e", help="Epochs (default 30)."),
        batch_size: int = typer.Option(None, "--batch-size", "-b", help="Batch size (8)."),
        lr: float = typer.Option(None, "--lr", help="Learning rate (1e-3)."),
        backbone_lr: float = typer.Option(
            None, "--backbone-lr", help="LR of a pretrained encoder (default lr/10)."
        ),
        optimizer: str = typer.Option(None, "--optimizer", help="adamw (default), sgd, adam..."),
        weight_decay: float = typer.Option(None, "--weight-decay", help="Weight decay (1e-4)."),
        schedule: str = typer.Option(None, "--schedule", help="cosine (default), none, step..."),
        augment: str = typer.Option(None, "--augment", help="none, light (default) or strong."),
        hflip: bool = typer.Option(None, "--hflip/--no-hflip", help="Mirror crops."),
        freeze: str = typer.Option(None, "--freeze", help="none or backbone (the encoder)."),
        patience: int = typer.Option(
            None, "--patience", help="Early stopping on val mIoU (0: off)."
        ),
        monitor: str = typer.Option(None, "--monitor", help="val/miou (default), val/dice..."),
        val_fraction: float = typer.Option(
            None, "--val", help="Validation share without a val/ split (0.2)."
        ),
        seed: int = typer.Option(None, "--seed", help="Seed of split, init and crops (0)."),
        name: str = typer.Option(None, "--name", help="Run name (folder under runs/segment/)."),
        project: str = typer.Option(None, "--project", help="Runs folder (default: runs)."),
        device: str = typer.Option(None, "--device", help="auto, cpu, cuda, cuda:N, mps."),
        precision: str = typer.Option(None, "--precision", help="32-true, 16-mixed, bf16-mixed."),
        workers: int = typer.Option(None, "--workers", help="Data-loading worker processes."),
        config_file: Path = typer.Option(None, "--config", help="YAML file of options."),
        resume: Path = typer.Option(None, "--resume", help="Continue the run in this folder."),
        as_json: bool = typer.Option(
            False, "--json", help="Also print the run's summary (folder, checkpoints, metrics)."
        ),
    ) -> None:
        """Train a semantic segmentation model from a few labelled images (random crops).

        Examples:
          visiona data make segment-shapes shapes-seg/
          visiona train segment --data shapes-seg/ --crop 128 --crops-per-epoch 256
          visiona train segment --data labels/ -m unet --arch-opt encoder=efficientnet_lite0 --pretrained
        """
        from visiona.cli.train import _run

        cli_values = {
            "data": data, "model": model, "pretrained": pretrained, "crop": crop,
            "crops_per_epoch": crops_per_epoch, "loss": loss, "class_weights": class_weights,
            "epochs": epochs, "batch_size": batch_size, "lr": lr, "backbone_lr": backbone_lr,
            "optimizer": optimizer, "weight_decay": weight_decay, "schedule": schedule,
            "augment": augment, "hflip": hflip, "freeze": freeze, "patience": patience,
            "monitor": monitor, "val_fraction": val_fraction, "seed": seed, "name": name,
            "project": project, "device": device, "precision": precision, "workers": workers,
        }  # fmt: skip
        _run("segment", cli_values, arch_opt, config_file, resume, as_json=as_json)


def register_evaluate(app: typer.Typer) -> None:
    @app.command("segment")
    def evaluate_segment(
        model: str = typer.Option(
            ..., "--model", "-m", help="Checkpoint (runs/segment/NAME/best), .onnx or model name."
        ),
        data: Path = typer.Option(..., "--data", "-d", help="Labelled segmentation data set."),
        subset: str = typer.Option(
            "auto", "--subset", help="auto (test, else val, else all), train, val, test or all."
        ),
        tile: int = typer.Option(512, "--tile", help="Sliding-window side (0: whole images)."),
        overlap: int = typer.Option(64, "--overlap", help="Pixels shared by neighbouring tiles."),
        device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
        backend: str = typer.Option(None, "--backend", help="torch, compiled or onnx."),
        output: Path = typer.Option(
            None,
            "--output",
            "-o",
            help="Folder for metrics.json and PNGs (default: RUN/eval-DATA; an existing one "
            "gets -2, -3...).",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON to stdout."),
    ) -> None:
        """Evaluate a segmentation model: mIoU, per-class IoU and Dice, pixel accuracy,
        confusion matrix and the worst images (metrics.json + PNGs).

        Exit codes: 0 evaluated (bad pairs reported and left out), 2 bad usage.
        """
        from visiona.cli.conventions import fresh_path
        from visiona.cli.evaluate import _refuse_output_inside_data, default_out_dir
        from visiona.engine.evaluate.segment import evaluate_segmenter, print_segmentation
        from visiona.models.load import load_model

        err = stderr_console()
        loaded = load_model(model, task="segment", console=err)
        out_dir = output if output is not None else default_out_dir(loaded, data, subset)
        _refuse_output_inside_data(out_dir, data)
        out_dir = fresh_path(out_dir)
        evaluation = evaluate_segmenter(
            loaded, data, subset=subset, output=out_dir, backend=backend, device=device,
            tile=tile, overlap=overlap,
        )  # fmt: skip
        for problem in evaluation.problems:
            err.print(f"{problem}", markup=False)
        if as_json:
            json.dump(evaluation.to_dict(), sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            print_segmentation(evaluation, stdout_console())
        err.print(f"wrote {len(evaluation.files)} files to {out_dir}:", markup=False)
        for path in evaluation.files.values():
            err.print(f"  {path}", markup=False)


def register_predict(app: typer.Typer) -> None:
    @app.command("segment")
    def predict_segment(
        paths: list[str] = typer.Argument(..., help="Image files, folders or glob patterns."),
        model: str = typer.Option(
            None,
            "--model",
            "-m",
            help="Checkpoint, .onnx file or model name (default: lraspp_mobilenet_v3_large).",
        ),
        weights: Path = typer.Option(None, "--weights", help="Local weights file for --model."),
        random_init: bool = typer.Option(False, "--random-init", help="Random weights (tests)."),
        tile: int = typer.Option(512, "--tile", help="Sliding-window side (0: whole image)."),
        overlap: int = typer.Option(64, "--overlap", help="Pixels shared by neighbouring tiles."),
        opacity: float = typer.Option(0.5, "--opacity", min=0.0, max=1.0, help="Overlay opacity."),
        as_json: bool = typer.Option(False, "--json", help="Print results as JSON to stdout."),
        save: Path = typer.Option(None, "--save", help="Write colour overlays to this folder."),
        masks: Path = typer.Option(
            None, "--masks", help="Write class-id masks (palette PNG) to this folder."
        ),
        roi: str = typer.Option(None, "--roi", help="Only a region: center:0.5 or box:..."),
        batch_size: int = typer.Option(1, "--batch-size", "-b", min=1, help="Images per batch."),
        device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
        backend: str = typer.Option(
            None, "--backend", help="torch, compiled or onnx (default: onnx for .onnx files)."
        ),
        max_pixels: int = typer.Option(
            None, "--max-pixels", min=1, help="Refuse images above this many pixels."
        ),
    ) -> None:
        """Segment images: a class per pixel; areas per class, overlays, palette-PNG masks.

        Exit codes: 0 all images processed, 1 some images could not be read, 2 bad usage.
        """
        from PIL import Image

        from visiona.cli.predict import _exit_if_failed, _ok, _print_json, _run_with_progress
        from visiona.data.sources import expand_inputs
        from visiona.engine.predict.predictor import Predictor
        from visiona.ops.preprocess import Roi

        files = expand_inputs(paths)
        overlay_namer = OutputNamer(save, files) if save else None
        mask_namer = OutputNamer(masks, files) if masks else None
        err = stderr_console()
        predictor = Predictor.load(
            model, task="segment", pretrained=not random_init, weights_file=weights, console=err,
            device=device, batch_size=batch_size, roi=Roi.parse(roi) if roi else None,
            max_pixels=max_pixels, backend=backend,
        )  # fmt: skip
        options = {"tile": tile, "overlap": overlap}
        predictor.task.check_options(predictor.weights, **options)
        items = _run_with_progress(predictor.stream(files, **options), len(files), err)
        written: list[Path] = []
        for item in _ok(items):
            if overlay_namer is not None:
                path = overlay_namer.path_for(item.source)
                Image.fromarray(item.result.draw(item.image.array, opacity)).save(path)
                written.append(path)
            if mask_namer is not None:
                path = mask_namer.path_for(Path(item.source).stem + ".png")
                written.append(item.result.save_mask(path))
        if as_json:
            _print_json(items)
        else:
            _print_table(items)
        failed = sum(not item.ok for item in items)
        summary = f"segmented {len(_ok(items))} image(s)"
        err.print(summary + (f", {failed} could not be read" if failed else ""), markup=False)
        if written:
            err.print(f"wrote {len(written)} file(s):", markup=False)
            for path in written:
                err.print(f"  {path}", markup=False)
        _exit_if_failed(items)


def _print_table(items) -> None:
    from rich.table import Table

    table = Table()
    for column in ("image", "size", "classes (share of pixels)"):
        table.add_column(column)
    for item in items:
        if not item.ok:
            continue
        result = item.result
        total = max(1, result.class_map.size)
        shares = sorted(result.areas.items(), key=lambda kv: -kv[1])
        text = ", ".join(f"{name} {100 * area / total:.1f}%" for name, area in shares if area)
        table.add_row(item.source, "×".join(map(str, result.image_size)), text or "-")
    stdout_console().print(table)


def check_segmentation_command(folder: Path, as_json: bool = False) -> None:
    """``visiona data check`` on a segmentation set: per-class pixels, one line per problem."""
    from rich.table import Table

    from visiona.data.segmentation.check import check_segmentation

    report = check_segmentation(folder)
    dataset = report.dataset
    out = stdout_console()
    if as_json:
        data = {
            "task": "segment",
            "layout": dataset.layout,
            "classes": list(dataset.classes),
            "images": report.images,
            "pixels": dict(zip(dataset.classes, map(int, report.pixels), strict=True)),
            "problems": [
                {"file": p.file, "message": p.message, "level": p.level, "kind": p.kind}
                for p in report.problems
            ],
            "ok": report.ok,
        }
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        counts = ", ".join(f"{split or '(no split)'} {n}" for split, n in report.images.items())
        out.print(
            f"{folder}: segmentation ({dataset.layout}), {len(dataset.samples)} images "
            f"({counts}), {dataset.num_classes} classes",
            markup=False,
        )
        table = Table()
        for column in ("id", "class", "pixels", "share"):
            table.add_column(column, justify="left" if column == "class" else "right")
        total = max(1, int(report.pixels.sum()))
        for index, name in enumerate(dataset.classes):
            pixels = int(report.pixels[index])
            table.add_row(str(index), name, str(pixels), f"{100 * pixels / total:.1f}%")
        out.print(table)
        for problem in report.problems:
            prefix = "" if problem.level == "error" else f"{problem.level}: "
            out.print(f"{dataset.root / problem.file}: {prefix}{problem.message}", markup=False)
        verdict = "ok" if report.ok else "errors found"
        out.print(
            f"{verdict}: {len(report.errors)} errors, {len(report.warnings)} warnings",
            markup=False,
        )
    if not report.ok:
        raise typer.Exit(1)


def make_segment_shapes_command(
    out_dir: Path, size: int | None, num_images: int | None, seed: int, overwrite: bool
) -> None:
    from visiona.data.segmentation.synthetic import make_segment_shapes

    train = num_images or 4
    report = make_segment_shapes(
        out_dir, train_images=train, val_images=5 * train, image_size=size or 512, seed=seed,
        overwrite=overwrite,
    )  # fmt: skip
    stdout_console().print(
        f"wrote {report.train} training + {report.val} held-out images "
        f"({report.image_size}² px, classes: {', '.join(report.classes)}) to {report.out_dir}",
        markup=False,
    )
