"""``visiona predict TASK SOURCE`` on video: files, webcams, streams and image sequences.

Every ``visiona predict`` command takes a video source in place of images. :func:`install` wraps
each registered command so that, when its inputs name a video source (``clip.mp4``, ``0``,
``/dev/video0``, ``rtsp://…``, ``http://…``, ``frames/%04d.png``) or a video option is used
(``--jsonl``, ``--track``, ``--show``, ``--save out.mp4``), the frames run through
:class:`~visiona.engine.predict.video.VideoStream` instead; otherwise the command runs as before.
The video options are added to every command's signature, so ``--help`` lists them.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_type_hints

import typer

from visiona.cli.output import stderr_console
from visiona.errors import UsageError, VisionaError

if TYPE_CHECKING:
    from rich.console import Console

    from visiona.engine.predict.predictor import Predictor
    from visiona.engine.predict.video import FramePrediction, VideoStream

_VIDEO_OPTIONS: dict[str, tuple[Any, Any]] = {
    "jsonl": (Path, typer.Option(None, "--jsonl", help="Video: write one JSON line per frame to this file.")),
    "show": (bool, typer.Option(False, "--show", help="Video: show annotated frames in a window.")),
    "track": (str, typer.Option(None, "--track", help="Video: follow objects with bytetrack, sort or ocsort.")),
    "count_line": (str, typer.Option(None, "--count-line", help="Video: count tracked objects crossing x0,y0,x1,y1 (pixels).")),
    "every": (int, typer.Option(1, "--every", min=1, help="Video files: keep every Nth frame.")),
    "start": (float, typer.Option(None, "--start", min=0.0, help="Video files: start at this second.")),
    "end": (float, typer.Option(None, "--end", min=0.0, help="Video files: stop at this second.")),
    "max_frames": (int, typer.Option(None, "--max-frames", min=1, help="Video: stop after this many frames.")),
    "fps": (float, typer.Option(None, "--fps", min=0.1, help="Image sequences: frames per second (default 30).")),
    "roi": (str, typer.Option(None, "--roi", help="Look only at a region: center:0.5 or box:x0,y0,x1,y1.")),
}  # fmt: skip
_COMMAND_OPTIONS: dict[str, dict[str, tuple[Any, Any]]] = {
    "faces": {
        "gallery": (Path, typer.Option(None, "--gallery", "-g", help="Video: name faces from this gallery (visiona faces enroll).")),
        "identify_threshold": (float, typer.Option(0.6, "--identify-threshold", min=0.0, help="Video with --gallery: same person at or below this distance.")),
    },
}  # fmt: skip
_PERCEPTION = ("faces", "pose", "hands", "facemesh", "matting")
_PERCEPTION_OPTIONS = ("conf", "max_hands", "mirrored", "max_faces", "threshold")
_RUNTIMES = ("torch", "compiled", "onnx", "packaged")


def install(app: typer.Typer) -> None:
    """Give every command of the ``visiona predict`` app its video options and video path."""
    for command in app.registered_commands:
        if command.callback is not None and command.name:
            command.callback = _wrap(command.name, command.callback)


def _wrap(name: str, callback: Any) -> Any:
    hints = get_type_hints(callback)
    signature = inspect.signature(callback)
    parameters = [p.replace(annotation=hints.get(p.name, p.annotation))
                  for p in signature.parameters.values()]  # fmt: skip
    options = {**_VIDEO_OPTIONS, **_COMMAND_OPTIONS.get(name, {})}
    added = [key for key in options if key not in signature.parameters]
    parameters += [
        inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=options[key][1],
                          annotation=options[key][0])
        for key in added
    ]  # fmt: skip

    def command(**kwargs: Any) -> None:
        video = {key: kwargs.pop(key) for key in added}
        merged = {**kwargs, **video}
        if _wants_video(merged):
            run_video(name, merged)
            return
        if any(merged.get(key) not in (None, False, 1) for key in _VIDEO_OPTIONS if key in video
               and key != "roi") or merged.get("gallery"):  # fmt: skip
            raise UsageError("video options (--track, --every...) need a video source")
        if video.get("roi"):
            raise UsageError(f"--roi on still images is not supported by predict {name}")
        callback(**kwargs)

    command.__name__ = callback.__name__
    command.__doc__ = callback.__doc__
    command.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    return command


def _inputs(kwargs: dict[str, Any]) -> list[str]:
    for key in ("paths", "inputs", "sources", "images"):
        if kwargs.get(key):
            return [str(value) for value in kwargs[key]]
    return []


def _wants_video(kwargs: dict[str, Any]) -> bool:
    from visiona.data.video.sources import looks_like_video
    from visiona.data.video.writer import VIDEO_OUTPUT_SUFFIXES

    inputs = _inputs(kwargs)
    if any(looks_like_video(text) for text in inputs):
        return True
    save = kwargs.get("save")
    wants = bool(kwargs.get("jsonl") or kwargs.get("track") or kwargs.get("show"))
    wants |= save is not None and Path(save).suffix.lower() in VIDEO_OUTPUT_SUFFIXES
    return wants


def _task(name: str, kwargs: dict[str, Any]) -> str:
    if name == "detect":
        from visiona.cli.predict import _detection_task

        return _detection_task(kwargs.get("model"))
    return name


def build_predictor(name: str, kwargs: dict[str, Any], console: Console) -> tuple[Predictor, dict]:
    """The Predictor a ``visiona predict NAME`` command would build, and its task options."""
    from visiona.engine.predict.predictor import Predictor
    from visiona.ops.preprocess import Roi

    roi = Roi.parse(kwargs["roi"]) if kwargs.get("roi") else None
    if name in _PERCEPTION:
        from visiona.models.load import load_packaged_model

        model = kwargs.get("model") or kwargs.get("complexity")
        if model is None and kwargs.get("backend") not in _RUNTIMES:
            model = kwargs.get("backend")
        options = {key: kwargs[key] for key in _PERCEPTION_OPTIONS if key in kwargs}
        if name == "faces" and kwargs.get("gallery") is not None:
            loaded = _identifying_model(kwargs["gallery"], model, kwargs["identify_threshold"])
            return Predictor(loaded, roi=roi, batch_size=1, workers=0), {}
        loaded = load_packaged_model(name, model, **options)
        return Predictor(loaded, roi=roi, batch_size=1, workers=0), {}
    backend = kwargs.get("backend")
    predictor = Predictor.load(
        kwargs.get("model"),
        task=_task(name, kwargs),
        pretrained=not kwargs.get("random_init", False),
        weights_file=kwargs.get("weights"),
        console=console,
        device=kwargs.get("device", "auto"),
        batch_size=1,
        roi=roi,
        max_pixels=kwargs.get("max_pixels"),
        backend=backend if backend in _RUNTIMES else None,
        workers=0,
    )
    # the command's options that the task's postprocess takes (top_k, conf, iou, classes...)
    accepted = [
        p.name
        for p in inspect.signature(predictor.task.postprocess).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    options = {key: kwargs[key] for key in accepted if kwargs.get(key) is not None}
    predictor.task.check_options(predictor.weights, **options)
    return predictor, options


def _identifying_model(gallery_file: Path, detector: str | None, threshold: float) -> Any:
    """A packaged ``faces`` model that also names each face from a gallery (face recognition)."""
    import dataclasses

    from visiona.faces.gallery import Gallery, identify
    from visiona.faces.recognizer import FaceRecognizer
    from visiona.models.load import load_packaged_model

    gallery = Gallery.load(Path(gallery_file))
    name = detector if detector not in (None, "blazeface") else gallery.detector
    recognizer = FaceRecognizer(name)

    def identify_frame(image: Any) -> Any:
        return identify(image, gallery, recognizer, threshold)

    loaded = load_packaged_model("faces", name)
    return dataclasses.replace(loaded, module=identify_frame)


def _background(kwargs: dict[str, Any]) -> Any:
    """Matting: the new background (colour tuple, image array or ``"blur"``), or ``None``."""
    import click

    value = kwargs.get("background")
    context = click.get_current_context(silent=True)
    given = context is not None and context.get_parameter_source("background") not in (
        None, click.core.ParameterSource.DEFAULT,
    )  # fmt: skip
    if value is None or not (given or kwargs.get("remove_background")):
        return None
    if value == "blur":
        return "blur"
    from visiona.cli.predict_perception import _parse_background

    return _parse_background(value)


def render(prediction: FramePrediction, stream: VideoStream, background: Any = None) -> Any:
    """The annotated frame: result overlay, trails, counting line, ROI, FPS and latency."""
    from visiona.viz.video_overlay import draw_video_overlay, hud_lines

    frame = prediction.image
    if background is not None and hasattr(prediction.result, "replace_background"):
        back = background
        if isinstance(background, str):  # blur
            import cv2

            size = max(3, (min(frame.shape[:2]) // 12) | 1)
            back = cv2.GaussianBlur(frame, (size, size), 0)
        drawn = prediction.result.replace_background(frame, back)
    else:
        drawn = prediction.result.draw(frame)
    roi = stream.predictor.roi
    roi_box = roi.box_for(frame.shape[1], frame.shape[0]) if roi is not None else None
    return draw_video_overlay(
        drawn,
        trails=stream.tracker.trails if stream.tracker is not None else None,
        line=stream.counter.line if stream.counter is not None else None,
        counts=prediction.counts,
        hud=hud_lines(prediction.fps, prediction.latency_ms),
        roi=tuple(int(v) for v in roi_box) if roi_box is not None else None,
    )


def _save_path(save: Path, source_name: str) -> Path:
    from visiona.data.video.writer import VIDEO_OUTPUT_SUFFIXES

    if save.suffix.lower() in VIDEO_OUTPUT_SUFFIXES:
        return save
    if save.exists() and not save.is_dir():
        raise UsageError(f"--save {str(save)!r}: give a folder or a .mp4/.webm file")
    save.mkdir(parents=True, exist_ok=True)
    stem = Path(source_name).stem if "://" not in source_name else "stream"
    return save / f"{stem or 'video'}.mp4"


class _Window:
    def __init__(self, title: str) -> None:
        import cv2

        if sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        ):
            raise UsageError("--show needs a display (no DISPLAY is set)",
                             "use --save out.mp4 instead, or run on a desktop")  # fmt: skip
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL)
        except cv2.error:
            raise UsageError("--show: this OpenCV has no window support (headless build)",
                             "pip install opencv-python, or use --save out.mp4") from None  # fmt: skip
        self.title = title

    def show(self, rgb: Any) -> bool:
        """Show a frame; False when the user pressed q or Esc."""
        import cv2

        cv2.imshow(self.title, rgb[..., ::-1])
        return cv2.waitKey(1) & 0xFF not in (ord("q"), 27)

    def close(self) -> None:
        import cv2

        cv2.destroyWindow(self.title)


def run_video(name: str, kwargs: dict[str, Any]) -> None:
    """Run ``visiona predict NAME`` on the one video source in ``kwargs``; exits with its code."""
    from visiona.data.video.sources import Selection, parse_source
    from visiona.engine.predict.video import VideoStream

    inputs = _inputs(kwargs)
    if len(inputs) != 1:
        raise UsageError(f"give one video source at a time (got {len(inputs)} inputs)")
    err = stderr_console()
    as_json = bool(kwargs.get("as_json"))
    if kwargs.get("as_csv"):
        raise UsageError("--csv is for still images; use --json or --jsonl FILE on video")
    selection = Selection(kwargs.get("every") or 1, kwargs.get("start"), kwargs.get("end"),
                          kwargs.get("max_frames"))  # fmt: skip
    spec = parse_source(inputs[0], images_as_video=True, fps=kwargs.get("fps"))
    assert spec is not None
    window = _Window(f"visiona {name}") if kwargs.get("show") else None
    background = _background(kwargs) if name == "matting" else None
    predictor, options = build_predictor(name, kwargs, err)
    stream = VideoStream(predictor, spec, selection=selection, track=kwargs.get("track"),
                         count_line=kwargs.get("count_line"), **options)  # fmt: skip
    save = kwargs.get("save")
    outputs = _Outputs(
        _save_path(Path(save), spec.name) if save is not None else None,
        kwargs.get("jsonl"),
        as_json,
    )
    code, error = 0, None
    try:
        code, error = _loop(stream, outputs, window, background, err)
    finally:
        written = outputs.close(stream.fps)
        if window is not None:
            window.close()
    _report(stream, written, err, error)
    if code:
        raise typer.Exit(code)


def _loop(stream: VideoStream, outputs: _Outputs, window: _Window | None, background: Any,
          err: Console) -> tuple[int, VisionaError | None]:  # fmt: skip
    from rich.progress import Progress, TextColumn

    draw = outputs.video is not None or window is not None
    with Progress(TextColumn("{task.description}"), console=err, transient=True,
                  disable=not err.is_terminal) as progress:  # fmt: skip
        task = progress.add_task("opening video", total=None)
        try:
            for prediction in stream:
                outputs.write_json(prediction)
                if draw:
                    import time

                    started = time.perf_counter()
                    frame = render(prediction, stream, background)
                    stream.stats.seconds["draw"] += time.perf_counter() - started
                    started = time.perf_counter()
                    outputs.write_frame(frame, stream.fps)
                    stream.stats.seconds["encode"] += time.perf_counter() - started
                    if window is not None and not window.show(frame):
                        break
                fps = f"{prediction.fps:.1f} FPS" if prediction.fps else ""
                progress.update(task, description=f"frame {prediction.index} {fps}")
        except VisionaError as error:
            return error.exit_code, error
        except KeyboardInterrupt:
            return 130, VisionaError("interrupted")
    return 0, None


class _Outputs:
    """The annotated video, the JSON Lines file and ``--json`` lines on stdout."""

    def __init__(self, video: Path | None, jsonl: Path | None, as_json: bool) -> None:
        if jsonl is not None and not Path(jsonl).parent.is_dir():
            raise UsageError(f"--jsonl {str(jsonl)!r}: folder does not exist")
        self.video = video
        self.jsonl = Path(jsonl) if jsonl is not None else None
        self.as_json = as_json
        self._writer: Any = None
        self._handle: Any = None
        if self.jsonl is not None:
            self._temp = self.jsonl.with_name(f".{self.jsonl.name}.partial")
            self._handle = open(self._temp, "w", encoding="utf-8")  # noqa: SIM115

    def write_json(self, prediction: FramePrediction) -> None:
        if self._handle is None and not self.as_json:
            return
        line = json.dumps(prediction.to_dict())
        if self._handle is not None:
            self._handle.write(line + "\n")
        if self.as_json:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def write_frame(self, frame: Any, fps: float) -> None:
        if self.video is None:
            return
        if self._writer is None:
            from visiona.data.video.writer import VideoWriter

            self._writer = VideoWriter(self.video, fps)
        self._writer.write(frame)

    def close(self, fps: float) -> list[Path]:
        """Finish every output (also after an error or Ctrl-C); the files written."""
        written = []
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            os.replace(self._temp, self.jsonl)
            written.append(self.jsonl)
        if self._writer is not None:
            path = self._writer.close()
            if path is not None:
                written.append(path)
        return written


def _report(stream: VideoStream, written: list[Path], err: Console,
            error: VisionaError | None) -> None:  # fmt: skip
    stats = stream.stats.to_dict()
    split = ", ".join(f"{k} {v:.1f}" for k, v in stats["ms_per_frame"].items() if v >= 0.05)
    line = f"{stats['frames']} frames from {stream.spec.name} in {stats['seconds']:.1f} s " \
           f"({stats['fps']:.1f} FPS)"  # fmt: skip
    if stats["dropped"]:
        line += f", {stats['dropped']} stale frames dropped (live source)"
    if stats["frames"] or error is None:
        err.print(line, markup=False, highlight=False)
    if split and stats["frames"]:
        err.print(f"ms per frame: {split}", markup=False, highlight=False)
    if stream.counter is not None:
        counts = stream.counter.counts
        text = "; ".join(f"{k}: in {v['in']}, out {v['out']}" for k, v in counts.items())
        err.print(f"line crossings: {text or 'none'}", markup=False, highlight=False)
    for path in written:
        err.print(f"saved {path}", markup=False, highlight=False)
    if error is not None:
        err.print(f"error: {error}", markup=False, highlight=False)
