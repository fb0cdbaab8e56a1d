"""``visiona report RUN``: one self-contained ``report.html`` per training run.

Everything the run folder holds goes into one file that opens from disk without a server or a
network: configuration, data summary (class counts per split, a sample grid), training curves,
best/last metrics, every picture the run and its evaluations wrote (confusion matrices, highest
loss images, PR curves...), the metrics tables found in ``metrics.json`` files, Grad-CAM overlays of
the hardest validation images for classifiers, and the environment. Images are inlined as
``data:`` URIs; there is no script and no external reference.
"""

from __future__ import annotations

import base64
import html
import io
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visiona.errors import InputNotFoundError

REPORT_NAME = "report.html"
MAX_SAMPLES_PER_CLASS = 4
MAX_CAM_IMAGES = 6

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .6rem;
text-align:left;font-variant-numeric:tabular-nums}th{background:#f4f4f4}
figure{display:inline-block;margin:.5rem;vertical-align:top}figure img{max-width:100%;
border:1px solid #ddd}figcaption{font-size:.85rem;color:#555}pre{background:#f7f7f7;padding:.6rem;
overflow-x:auto}.muted{color:#777}
"""


@dataclass
class Section:
    """One titled part of the report (HTML body already escaped)."""

    title: str
    body: str


@dataclass
class RunReport:
    """What :func:`write_report` wrote."""

    path: Path
    images: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)


def _png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _figure(uri: str, caption: str) -> str:
    text = html.escape(caption)
    return f'<figure><img src="{uri}" alt="{text}"><figcaption>{text}</figcaption></figure>'


def _table(rows: list[tuple[Any, ...]], header: tuple[str, ...]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _flat_metrics(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Numbers in a (nested) metrics dict as ``(dotted.key, value)`` rows."""
    rows: list[tuple[str, Any]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            rows.extend(_flat_metrics(value, f"{prefix}{key}."))
    elif isinstance(data, int | float) and not isinstance(data, bool):
        rows.append((prefix.rstrip("."), data))
    return rows


def _config_section(run_dir: Path) -> Section | None:
    path = run_dir / "config.yaml"
    if not path.is_file():
        return None
    return Section("Configuration", f"<pre>{html.escape(path.read_text())}</pre>")


def _thumbnail_png(path: Path, side: int = 96) -> bytes | None:
    from PIL import Image

    from visiona.errors import ImageLoadError
    from visiona.io.images import load_image

    try:
        image = Image.fromarray(load_image(path).array)
    except (ImageLoadError, OSError):
        return None
    image.thumbnail((side, side))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _data_section(run_dir: Path, images: list[str]) -> Section | None:
    path = run_dir / "split.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    classes = data.get("classes") or []
    root = Path(data["root"]) if data.get("root") else None
    splits = [name for name in ("train", "val", "test") if isinstance(data.get(name), list)]
    body = f"<p>data: {html.escape(str(root or '?'))}</p>"
    labelled = classes and all(
        all(isinstance(entry, list) and len(entry) == 2 for entry in data[s]) for s in splits
    )
    if not labelled:
        counts = [(name, len(data[name])) for name in splits]
        return Section("Data", body + _table(counts, ("split", "images")))
    rows = []
    for index, name in enumerate(classes):
        rows.append((name, *(sum(1 for _, label in data[s] if label == index) for s in splits)))
    rows.append(("total", *(len(data[s]) for s in splits)))
    body += _table(rows, ("class", *splits))
    figures = []
    for index, name in enumerate(classes):
        picked = [p for p, label in data.get("train", []) if label == index][:MAX_SAMPLES_PER_CLASS]
        for relative in picked:
            file = (
                Path(relative) if Path(relative).is_absolute() or root is None else root / relative
            )
            thumbnail = _thumbnail_png(file)
            if thumbnail is not None:
                figures.append(_figure(_png_uri(thumbnail), f"{name}: {Path(relative).name}"))
                images.append(f"sample {relative}")
    if figures:
        body += "<h3>Training samples</h3>" + "".join(figures)
    return Section("Data", body)


def _metrics_sections(run_dir: Path) -> list[Section]:
    sections = []
    for name, title in (("best.json", "Best epoch"), ("last.json", "Last epoch")):
        path = run_dir / name
        if path.is_file():
            rows = _flat_metrics(json.loads(path.read_text()))
            if rows:
                sections.append(Section(title, _table(rows, ("metric", "value"))))
    for path in sorted(run_dir.rglob("metrics.json")):
        rows = _flat_metrics(json.loads(path.read_text()))
        if rows:
            label = path.parent.relative_to(run_dir) if path.parent != run_dir else Path(".")
            sections.append(Section(f"Metrics ({label})", _table(rows[:400], ("metric", "value"))))
    return sections


def _pictures_section(run_dir: Path, images: list[str]) -> Section | None:
    figures = []
    for path in sorted(run_dir.rglob("*.png")):
        if path.name == REPORT_NAME or "logs" in path.relative_to(run_dir).parts:
            continue
        relative = str(path.relative_to(run_dir))
        figures.append(_figure(_png_uri(path.read_bytes()), relative))
        images.append(relative)
    if not figures:
        return None
    return Section("Pictures", "".join(figures))


def _cam_section(run_dir: Path, images: list[str]) -> Section | None:
    """Grad-CAM of the validation images the best classifier gets most wrong."""
    best = run_dir / "best.safetensors"
    split = run_dir / "split.json"
    if not best.is_file() or not split.is_file():
        return None
    from visiona.weights.checkpoint import read_checkpoint_info

    if read_checkpoint_info(best).weights.task != "classify":
        return None
    import torch

    from visiona.data.folder import DataSplits
    from visiona.engine.explain.cam import CamExplainer
    from visiona.errors import ImageLoadError, VisionaError
    from visiona.io.images import load_image
    from visiona.models.load import load_model
    from visiona.ops.preprocess import to_tensor
    from visiona.tasks.classify import probabilities_from_logits

    try:
        model = load_model(str(best))
        explainer = CamExplainer(model)
    except (VisionaError, ImportError):
        return None
    samples = DataSplits.from_json(split.read_text()).val[:64]
    losses = []
    for sample in samples:
        try:
            image = load_image(sample.path)
        except ImageLoadError:
            continue
        batch = to_tensor(image.array, model.weights.preprocessing).unsqueeze(0)
        with torch.no_grad():
            probability = probabilities_from_logits(model.module(batch))[0, sample.label]
        losses.append((-float(torch.log(probability.clamp_min(1e-12))), sample, image))
    losses.sort(key=lambda entry: entry[0], reverse=True)
    figures = []
    names = model.weights.class_names
    for loss, sample, image in losses[:MAX_CAM_IMAGES]:
        explanation = explainer.explain(image)
        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(explanation.draw(image.array)).save(buffer, "PNG")
        caption = (
            f"{sample.path.name}: true {names[sample.label]}, predicted "
            f"{explanation.target_name} (loss {loss:.2f})"
        )
        figures.append(_figure(_png_uri(buffer.getvalue()), caption))
        images.append(f"gradcam {sample.path.name}")
    if not figures:
        return None
    return Section("Hardest validation images, with Grad-CAM", "".join(figures))


def _environment_section() -> Section:
    import importlib.metadata as metadata

    rows = [("python", platform.python_version()), ("platform", platform.platform())]
    for package in ("visiona", "torch", "torchvision", "timm", "lightning", "onnxruntime"):
        try:
            rows.append((package, metadata.version(package)))
        except metadata.PackageNotFoundError:
            continue
    try:
        import torch

        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
        rows.append(("device", device))
    except ImportError:
        pass
    return Section("Environment", _table(rows, ("what", "version")))


def write_report(run_dir: str | Path, *, with_cam: bool = True) -> RunReport:
    """Write ``RUN/report.html`` from what the run folder holds and return what went in.

    Raises:
        InputNotFoundError: ``run_dir`` is not a folder, or holds no run (no config, metrics or
            logs).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputNotFoundError(f"run folder not found: {str(run_dir)!r}")
    markers = ("config.yaml", "best.json", "last.json", "metrics.csv", "metrics.json")
    if not any((run_dir / marker).is_file() for marker in markers):
        raise InputNotFoundError(
            f"{run_dir} holds no training run (no config.yaml, metrics or logs)",
            hint="pass a folder written by visiona train, e.g. runs/classify/train",
        )
    images: list[str] = []
    sections = [
        _config_section(run_dir),
        _data_section(run_dir, images),
        *_metrics_sections(run_dir),
        _pictures_section(run_dir, images),
        _cam_section(run_dir, images) if with_cam else None,
        _environment_section(),
    ]
    present = [section for section in sections if section is not None]
    title = html.escape(f"visiona run {run_dir.name}")
    nav = " · ".join(f'<a href="#s{i}">{html.escape(s.title)}</a>' for i, s in enumerate(present))
    body = "".join(
        f'<h2 id="s{i}">{html.escape(s.title)}</h2>{s.body}' for i, s in enumerate(present)
    )
    document = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<style>{_STYLE}</style></head><body><h1>{title}</h1>"
        f'<p class="muted">{html.escape(str(run_dir.resolve()))}</p><p>{nav}</p>{body}'
        "</body></html>"
    )
    path = run_dir / REPORT_NAME
    temporary = path.with_name(f".{REPORT_NAME}.tmp")
    temporary.write_text(document, encoding="utf-8")
    temporary.replace(path)
    return RunReport(path=path, images=images, sections=[s.title for s in present])
