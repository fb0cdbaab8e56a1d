"""``visiona faces``: enrol a gallery, identify, verify, evaluate on pairs, write aligned crops."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from visiona import defaults
from visiona.cli.conventions import deprecated_option, fresh_path, take_deprecated
from visiona.cli.output import OutputNamer, progress_bar, stderr_console, stdout_console

app = typer.Typer(
    help="Face recognition: detect → align (3-point affine) → 128-d dlib embedding → match.",
    no_args_is_help=True,
)

_MODEL = typer.Option(
    None, "--model", "-m",
    help="Face detector with landmarks: hog (default), cnn, blazeface, blazeface_full or mtcnn "
    "(use the one the gallery was enrolled with).",
)  # fmt: skip
_OLD_DETECTOR = deprecated_option("--detector", "-d", new="-m/--model")
_THRESHOLD = typer.Option(
    defaults.SAME_PERSON_DISTANCE, "--threshold", "-t", min=0.0,
    help="Same person at or below this embedding distance.",
)  # fmt: skip
_JSON = typer.Option(False, "--json", help="Print results as JSON to stdout.")


def _detector(model: str | None, old: str | None, default: str | None = "hog") -> str | None:
    return take_deprecated(model, old, "--detector/-d", "-m/--model") or default


def _print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _recognizer(detector: str) -> Any:
    from visiona.faces.recognizer import FaceRecognizer

    return FaceRecognizer(detector)


def _progress(total: int, label: str) -> Any:
    return progress_bar(label, total, stderr_console())


@app.command("enroll")
def enroll(
    gallery_dir: Path = typer.Argument(
        ..., help="Folder with one sub-folder of photos per person."
    ),
    output: Path = typer.Option(
        None,
        "--output",
        "-o",
        help="Gallery file to write (default: GALLERY_DIR.npz next to it; never overwritten: "
        "an existing name gets -2, -3...).",
    ),
    model: str = _MODEL,
    as_json: bool = _JSON,
    out: Path = deprecated_option("--out", new="-o/--output"),
    detector: str = _OLD_DETECTOR,
) -> None:
    """Build a gallery file: one embedding (of the largest face) per photo, with names and files."""
    from visiona.data.sources import expand_inputs
    from visiona.faces.gallery import enroll as enroll_gallery
    from visiona.faces.gallery import person_folders

    output = take_deprecated(output, out, "--out", "-o/--output")
    detector = _detector(model, detector)
    folders = person_folders(gallery_dir)
    target = output or gallery_dir.with_suffix(".npz")
    if target.resolve().is_relative_to(gallery_dir.resolve()):
        from visiona.errors import UsageError

        raise UsageError(
            f"--output {str(target)!r} is inside the gallery folder; choose another path"
        )
    target = fresh_path(target)
    total = sum(len(expand_inputs([str(f)])) for f in folders if any(f.iterdir()))
    recognizer = _recognizer(detector)
    with _progress(total, "enrolling") as progress:
        bar = progress.add_task("enroll", total=total)
        gallery = enroll_gallery(gallery_dir, recognizer, progress=lambda _: progress.advance(bar))
    gallery.save(target)
    err = stderr_console()
    for source, reason in gallery.skipped:
        err.print(f"skipped: {source}: {reason}", markup=False)
    people = gallery.people
    if as_json:
        _print_json({
            "gallery": str(target), "photos": len(gallery.names), "people": list(people),
            "skipped": [{"source": str(s), "reason": r} for s, r in gallery.skipped],
        })  # fmt: skip
        return
    stdout_console().print(
        f"enrolled {len(gallery.names)} photos of {len(people)} people "
        f"({', '.join(people)}) → {target}",
        markup=False, highlight=False,
    )  # fmt: skip


@app.command("identify")
def identify(
    paths: list[str] = typer.Argument(..., help="Image files, folders or glob patterns."),
    gallery_file: Path = typer.Option(..., "--gallery", "-g", help="Gallery from `faces enroll`."),
    threshold: float = _THRESHOLD,
    model: str = typer.Option(
        None, "--model", "-m", help="Face detector (default: the gallery's)."
    ),
    as_json: bool = _JSON,
    save: Path = typer.Option(None, "--save", help="Write annotated images to this folder."),
    detector: str = _OLD_DETECTOR,
) -> None:
    """Name every face: nearest gallery person, or "unknown" beyond the distance threshold.

    Exit codes: 0 all images processed, 1 some images could not be read, 2 bad usage.
    """
    from PIL import Image

    from visiona.data.sources import expand_inputs
    from visiona.errors import ImageLoadError
    from visiona.faces.gallery import Gallery
    from visiona.faces.gallery import identify as identify_faces
    from visiona.io.images import load_image

    detector = _detector(model, detector, default=None)
    gallery = Gallery.load(gallery_file)
    files = expand_inputs(paths)
    namer = OutputNamer(save, files, task="identify") if save else None
    recognizer = _recognizer(detector or gallery.detector)
    err, out = stderr_console(), stdout_console()
    results, failed = [], 0
    with _progress(len(files), "identifying") as progress:
        bar = progress.add_task("identify", total=len(files))
        for path in files:
            try:
                image = load_image(path)
            except ImageLoadError as error:
                err.print(f"error: {error}", markup=False)
                failed += 1
                progress.advance(bar)
                continue
            faces = identify_faces(image.array, gallery, recognizer, threshold)
            faces = _with_source(faces, image.source, (image.width, image.height))
            results.append(faces)
            if namer:
                Image.fromarray(faces.draw(image.array)).save(namer.path_for(image.source))
            progress.advance(bar)
    if as_json:
        _print_json([faces.to_dict() for faces in results])
    else:
        for faces in results:
            if not len(faces):
                out.print(f"{faces.source}: no face found", markup=False, highlight=False)
            for i, (name, distance) in enumerate(
                zip(faces.identities, faces.distances, strict=True)
            ):
                box = ", ".join(f"{v:.0f}" for v in faces.xyxy[i])
                out.print(
                    f"{faces.source}: face {i + 1} [{box}] → {name} (distance {distance:.3f})",
                    markup=False, highlight=False,
                )  # fmt: skip
    if save and results:
        err.print(f"annotated images saved to {save}", markup=False)
    if failed:
        raise typer.Exit(1)


def _with_source(faces: Any, source: str, size: tuple[int, int]) -> Any:
    import dataclasses

    return dataclasses.replace(faces, source=source, image_size=size)


@app.command("verify")
def verify(
    first: Path = typer.Argument(..., help="First image."),
    second: Path = typer.Argument(..., help="Second image."),
    threshold: float = _THRESHOLD,
    model: str = _MODEL,
    as_json: bool = _JSON,
    detector: str = _OLD_DETECTOR,
) -> None:
    """Are the largest faces of two images the same person? Exit code 0 yes, 1 no."""
    from visiona.errors import UsageError
    from visiona.io.images import load_image

    detector = _detector(model, detector)
    recognizer = _recognizer(detector)
    vectors = []
    for path in (first, second):
        encoded = recognizer.encode(load_image(path).array)
        index = encoded.largest()
        if index is None:
            raise UsageError(f"no face found in {path}", hint="try another --detector")
        vectors.append(encoded.embeddings[index])
    distance = float(((vectors[0] - vectors[1]) ** 2).sum() ** 0.5)
    same = distance <= threshold
    if as_json:
        report = {"distance": distance, "threshold": threshold, "same_person": same}
        json.dump(report, sys.stdout)
        sys.stdout.write("\n")
    else:
        verdict = "same person" if same else "different people"
        stdout_console().print(
            f"{verdict} (distance {distance:.3f}, threshold {threshold})",
            markup=False, highlight=False,
        )  # fmt: skip
    if not same:
        raise typer.Exit(1)


@app.command("evaluate")
def evaluate(
    pairs_file: Path = typer.Argument(..., help="Lines 'IMAGE_A IMAGE_B LABEL' (1 same, 0 not)."),
    model: str = _MODEL,
    output: Path = typer.Option(
        None, "--output", "-o", help="Save the ROC curve to this PNG file."
    ),
    as_json: bool = _JSON,
    detector: str = _OLD_DETECTOR,
    plot: Path = deprecated_option("--plot", new="-o/--output"),
) -> None:
    """Verification quality on labelled pairs: ROC AUC, EER and the best distance threshold."""
    from visiona.errors import ImageLoadError
    from visiona.faces.evaluation import evaluate_pairs, plot_roc, read_pairs
    from visiona.io.images import load_image

    detector = _detector(model, detector)
    plot = take_deprecated(output, plot, "--plot", "-o/--output")
    if plot is not None:
        plot = fresh_path(plot)
    pairs = read_pairs(pairs_file)
    recognizer = _recognizer(detector)

    def embed(path: Path) -> Any:
        try:
            encoded = recognizer.encode(load_image(path).array)
        except ImageLoadError as error:
            stderr_console().print(f"error: {error}", markup=False)
            return None
        index = encoded.largest()
        return None if index is None else encoded.embeddings[index]

    with _progress(len(pairs), "evaluating") as progress:
        bar = progress.add_task("evaluate", total=len(pairs))
        report = evaluate_pairs(pairs, embed, progress=lambda: progress.advance(bar))
    if plot:
        plot_roc(report, plot)
    if as_json:
        _print_json(report.to_dict())
        return
    from rich.table import Table

    table = Table(title="face verification")
    table.add_column("metric")
    table.add_column("value", justify="right")
    summary = report.to_dict()
    table.add_row("pairs (same)", f"{summary['pairs']} ({summary['same_pairs']})")
    table.add_row("ROC AUC", f"{report.auc:.4f}")
    table.add_row("EER", f"{report.eer:.4f} at distance {report.eer_threshold:.3f}")
    table.add_row("best threshold", f"{report.best_threshold:.3f}")
    table.add_row("accuracy at best", f"{report.best_accuracy:.4f}")
    table.add_row("accuracy at 0.6", f"{report.accuracy_at(0.6):.4f}")
    stdout_console().print(table)
    err = stderr_console()
    for pair, reason in report.skipped:
        err.print(f"skipped: {pair}: {reason}", markup=False)
    if plot:
        err.print(f"ROC curve saved to {plot}", markup=False)


@app.command("align")
def align(
    paths: list[str] = typer.Argument(..., help="Image files, folders or glob patterns."),
    save: Path = typer.Option(None, "--save", help="Folder for the aligned 150×150 crops."),
    model: str = _MODEL,
    size: int = typer.Option(150, "--size", min=32, max=1024, help="Side of the square crops."),
    as_json: bool = _JSON,
    out: Path = deprecated_option("--out", "-o", new="--save"),
    detector: str = _OLD_DETECTOR,
) -> None:
    """Write every face as an aligned crop (eyes and nose warped to fixed positions)."""
    from visiona.errors import UsageError

    save = take_deprecated(save, out, "--out/-o", "--save")
    if save is None:
        raise UsageError("faces align writes crops: give a folder with --save DIR")
    detector = _detector(model, detector)
    from PIL import Image

    from visiona.data.sources import expand_inputs
    from visiona.errors import ImageLoadError
    from visiona.faces.alignment import align_faces
    from visiona.io.images import load_image
    from visiona.tasks.perception import FacesTask

    files = expand_inputs(paths)
    namer = OutputNamer(save, files)
    detect = FacesTask().build(detector)
    err = stderr_console()
    written, failed, crops = 0, 0, []
    for path in files:
        try:
            image = load_image(path)
        except ImageLoadError as error:
            err.print(f"error: {error}", markup=False)
            failed += 1
            continue
        faces = detect(image.array)
        for index, chip in enumerate(align_faces(image.array, faces.landmarks, size)):
            stem = Path(image.source).stem
            target = namer.path_for(f"{stem}_face{index + 1}.png")
            Image.fromarray(chip).save(target)
            crops.append({"source": image.source, "face": index + 1, "crop": str(target)})
            written += 1
    if as_json:
        _print_json(crops)
    else:
        stdout_console().print(
            f"wrote {written} aligned face crops to {save}", markup=False, highlight=False
        )
    if failed:
        raise typer.Exit(1)


@app.command("swap")
def swap(
    source: Path = typer.Argument(..., help="Image with the face to copy (its largest face)."),
    target: Path = typer.Argument(..., help="Image whose largest face is replaced."),
    output: Path = typer.Option(
        None, "--output", "-o", help="Where to write the result (PNG/JPEG)."
    ),
    model: str = _MODEL,
    as_json: bool = _JSON,
    out: Path = deprecated_option("--out", new="-o/--output"),
    detector: str = _OLD_DETECTOR,
) -> None:
    """Put the face of SOURCE onto the face of TARGET (aligned warp + seamless blending)."""
    import numpy as np
    from PIL import Image

    from visiona.errors import UsageError
    from visiona.faces.swap import swap_face
    from visiona.io.images import load_image
    from visiona.tasks.perception import FacesTask

    out = take_deprecated(output, out, "--out", "-o/--output")
    if out is None:
        raise UsageError("faces swap writes an image: give its file name with -o/--output")
    if out.resolve() in (source.resolve(), target.resolve()):
        raise UsageError("--output would overwrite an input image; choose another file")
    out = fresh_path(out)
    detect = FacesTask().build(_detector(model, detector))
    found = []
    for path in (source, target):
        image = load_image(path).array
        faces = detect(image)
        if not len(faces):
            raise UsageError(f"no face found in {path}", hint="try another --detector")
        sides = faces.xyxy[:, 2:] - faces.xyxy[:, :2]
        found.append((image, faces.landmarks[int(np.argmax(sides.prod(axis=1)))]))
    swapped = swap_face(found[0][0], found[0][1], found[1][0], found[1][1])
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(swapped).save(out)
    if as_json:
        _print_json({"source": str(source), "target": str(target), "output": str(out)})
        return
    stdout_console().print(f"swapped face written to {out}", markup=False, highlight=False)
