"""Where frames come from: video files (PyAV), webcams and network streams (OpenCV), image sequences.

:func:`parse_source` tells a video source from still images; :func:`open_frames` turns one into a
generator of :class:`Frame` objects (decoded in the calling thread; :mod:`.reader` moves that onto
a thread). Every frame carries its index in the source and its timestamp in seconds.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from visiona.errors import InputNotFoundError, MissingDependencyError, UsageError, VisionaError

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".ts",
     ".mts", ".m2ts", ".3gp", ".ogv", ".mjpeg", ".mjpg", ".h264", ".hevc", ".y4m"}
)  # fmt: skip
STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "rtmps://", "http://", "https://", "udp://",
                  "tcp://", "srt://")  # fmt: skip
_CAMERA = re.compile(r"^(\d{1,2}|/dev/video\d+)$")
_PRINTF = re.compile(r"%0?\d*d")


class VideoError(VisionaError):
    """A video source could not be opened or read (exit code 1): damaged, stalled, unsupported."""


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    Attributes:
        array: ``(H, W, 3)`` uint8 RGB pixels, rotation metadata already applied.
        index: Frame number in the source, counting from 0 (skipped frames count too).
        timestamp: Seconds from the start of the source (presentation time for files, wall
            clock since opening for live sources).
        source: Display name of the source.
    """

    array: np.ndarray
    index: int
    timestamp: float
    source: str


@dataclass(frozen=True)
class SourceSpec:
    """A parsed video source.

    Attributes:
        kind: ``file``, ``camera``, ``url`` or ``images``.
        target: The path, camera index or device, URL, or list of image paths.
        live: Live sources are read newest-frame-first (the reader drops stale frames).
        name: Display name.
    """

    kind: str
    target: Any
    live: bool
    name: str
    fps: float | None = None
    info: dict[str, Any] = field(default_factory=dict)


def is_video_path(path: str | os.PathLike[str]) -> bool:
    """Whether a file name has a video suffix (case-insensitive)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def looks_like_video(text: str) -> bool:
    """Whether ``text`` names a video file, a camera, a stream URL or a printf image pattern."""
    text = str(text)
    return bool(
        _CAMERA.match(text)
        or text.lower().startswith(STREAM_SCHEMES)
        or is_video_path(text)
        or _PRINTF.search(text)
    )


def parse_source(text: str | os.PathLike[str], *, images_as_video: bool = False,
                 fps: float | None = None) -> SourceSpec | None:  # fmt: skip
    """The video source ``text`` names, or ``None`` if it is still images.

    Args:
        text: ``clip.mp4``, ``0`` or ``/dev/video0``, ``rtsp://…``, ``http://…/stream.mjpg``,
            ``frames/%05d.png``; with ``images_as_video`` also a folder or glob of images.
        images_as_video: Treat a folder or glob of images as a frame sequence.
        fps: Frame rate of an image sequence (default 30).

    Raises:
        InputNotFoundError: A video file or image pattern that does not exist.
    """
    text = os.fspath(text)
    if _CAMERA.match(text):
        return SourceSpec("camera", int(text) if text.isdigit() else text, True, f"camera {text}")
    if text.lower().startswith(STREAM_SCHEMES):
        # a video file served over HTTP is read in full; anything else is a live stream
        path = text.split("?", 1)[0].split("#", 1)[0]
        is_file = text.lower().startswith(("http://", "https://")) and is_video_path(path)
        live = not is_file or Path(path).suffix.lower() in (".mjpg", ".mjpeg")
        return SourceSpec("url", text, live, _redact(text))
    if _PRINTF.search(text) and not Path(text).exists():
        files = _printf_files(text)
        return SourceSpec("images", files, False, text, fps=fps or 30.0)
    if is_video_path(text):
        path = Path(text).expanduser()
        if not path.exists():
            raise InputNotFoundError(f"video not found: '{text}'", "check the path")
        return SourceSpec("file", path, False, text)
    if images_as_video:
        from visiona.data.sources import expand_inputs

        return SourceSpec("images", expand_inputs([text]), False, text, fps=fps or 30.0)
    return None


def _redact(url: str) -> str:
    """A URL without its password, for messages."""
    return re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", url)


def _printf_files(pattern: str) -> list[Path]:
    files = sorted(Path(p) for p in glob.glob(_PRINTF.sub("*", pattern)))
    regex = re.compile("^" + _PRINTF.sub(r"\\d+", re.escape(pattern)) + "$")
    files = [p for p in files if regex.match(str(p))]
    if not files:
        raise InputNotFoundError(f"no frames match '{pattern}'", "check the pattern")
    return files


@dataclass(frozen=True)
class Selection:
    """Which frames of a file to keep: every ``every``-th from ``start`` to ``end`` seconds."""

    every: int = 1
    start: float | None = None
    end: float | None = None
    max_frames: int | None = None

    def __post_init__(self) -> None:
        if self.every < 1:
            raise UsageError(f"--every must be 1 or more, got {self.every}")
        if self.start is not None and self.start < 0:
            raise UsageError(f"--start must be 0 or more seconds, got {self.start}")
        if self.end is not None and self.start is not None and self.end <= self.start:
            raise UsageError(f"--end ({self.end} s) must come after --start ({self.start} s)")
        if self.max_frames is not None and self.max_frames < 1:
            raise UsageError(f"--max-frames must be 1 or more, got {self.max_frames}")


def open_frames(spec: SourceSpec, selection: Selection = Selection(),
                reconnects: int = 5, timeout: float = 10.0) -> Iterator[Frame]:  # fmt: skip
    """Frames of ``spec``, selected; decoding happens as the generator is consumed.

    Raises (while iterating):
        VideoError: The source cannot be opened, is damaged or truncated (after the frames
            before the damage), or a live stream stopped and did not come back.
    """
    if spec.kind == "file":
        frames = _file_frames(spec.target, spec.name, selection, timeout, spec.info)
        return _select(frames, selection)
    if spec.kind == "images":
        return _select(_image_frames(spec.target, spec.fps or 30.0), selection)
    return _select(_capture_frames(spec, reconnects, timeout), selection)


def _select(frames: Iterator[Frame], selection: Selection) -> Iterator[Frame]:
    kept = 0
    for frame in frames:
        if selection.end is not None and frame.timestamp >= selection.end:
            return
        if selection.start is not None and frame.timestamp < selection.start:
            continue
        if frame.index % selection.every:
            continue
        yield frame
        kept += 1
        if selection.max_frames is not None and kept >= selection.max_frames:
            return


def probe_fps(spec: SourceSpec) -> float:
    """Frames per second of a source (30 when it does not say)."""
    return float(spec.info.get("fps") or spec.fps or 30.0)


# --- files: PyAV --------------------------------------------------------------------------------


def _import_av() -> Any:
    try:
        import av
    except ImportError:
        raise MissingDependencyError(
            "reading video files needs PyAV", 'pip install "visiona[video]"'
        ) from None
    return av


def _file_frames(
    path: Path, name: str, selection: Selection, timeout: float, info: dict[str, Any]
) -> Iterator[Frame]:
    av = _import_av()
    if path.is_dir():
        raise VideoError(f"{name}: is a folder, not a video file")
    if path.stat().st_size == 0:
        raise VideoError(f"{name}: empty file (0 bytes), not a video")
    try:
        container = av.open(str(path), timeout=timeout)
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as error:
        raise VideoError(f"{name}: cannot open as video ({_reason(error)})",
                         "is it complete? an MP4 cut short loses its index") from None  # fmt: skip
    with container:
        if not container.streams.video:
            raise VideoError(f"{name}: has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        codec = stream.codec_context
        if codec is None or not codec.codec.is_decoder:
            raise VideoError(f"{name}: unsupported video codec", "convert it with ffmpeg to H.264")
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 30.0
        duration = _duration(stream, container)
        spec_info = {
            "fps": fps,
            "duration": duration,
            "codec": codec.name,
            "size": (stream.width, stream.height),
            "frames": stream.frames or None,
        }
        info.update(spec_info)
        if selection.start:
            # seek to the keyframe before start; frames before start are skipped below
            with contextlib.suppress(av.error.FFmpegError):
                container.seek(int(selection.start / stream.time_base), stream=stream)
        count, last = 0, -1.0
        try:
            for frame in container.decode(stream):
                timestamp = float(frame.time) if frame.time is not None else count / fps
                index = round(timestamp * fps) if frame.time is not None else count
                if selection.end is not None and timestamp >= selection.end:
                    return
                keep = (selection.start is None or timestamp >= selection.start) and (
                    index % selection.every == 0
                )
                count, last = count + 1, timestamp
                if keep:
                    yield Frame(_rotated(frame), index, timestamp, name)
        except av.error.FFmpegError as error:
            raise VideoError(f"{name}: damaged after frame {count} ({last:.2f} s): "
                             f"{_reason(error)}") from None  # fmt: skip
        if count == 0 and not selection.start:
            raise VideoError(f"{name}: no frames could be decoded (zero-length or damaged video)")
        if duration and last >= 0 and last + 3.0 / fps < duration and not selection.start:
            raise VideoError(f"{name}: ends early at frame {count} ({last:.2f} s of "
                             f"{duration:.2f} s): truncated or damaged")  # fmt: skip


def _duration(stream: Any, container: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def _rotated(frame: Any) -> np.ndarray:
    """RGB pixels with the stream's display rotation (phone videos) applied."""
    array = frame.to_ndarray(format="rgb24")
    rotation = int(getattr(frame, "rotation", 0) or 0) % 360
    if rotation:  # counter-clockwise degrees, as in the display matrix
        array = np.ascontiguousarray(np.rot90(array, k=rotation // 90))
    return array


def _reason(error: BaseException) -> str:
    text = getattr(error, "strerror", None) or str(error)
    return str(text).strip().rstrip(".").splitlines()[0] if text else type(error).__name__


# --- image sequences ----------------------------------------------------------------------------


def _image_frames(paths: list[Path], fps: float) -> Iterator[Frame]:
    from visiona.errors import ImageLoadError
    from visiona.io.images import load_image

    for index, path in enumerate(paths):
        try:
            image = load_image(path)
        except ImageLoadError as error:
            raise VideoError(f"image sequence: frame {index}: {error}") from None
        yield Frame(image.array, index, index / fps, str(path))


# --- cameras and network streams: OpenCV ---------------------------------------------------------


def _open_capture(spec: SourceSpec, timeout: float) -> Any:
    # FFmpeg inside OpenCV prints every failed connection; our error message says it once.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    import cv2

    if "OPENCV_LOG_LEVEL" not in os.environ:  # its timeout warnings repeat our message
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

    millis = int(timeout * 1000)
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, millis, cv2.CAP_PROP_READ_TIMEOUT_MSEC, millis]
    if spec.kind == "camera":
        device = spec.target
        if isinstance(device, str) and not os.path.exists(device):
            raise VideoError(f"no camera at {device} (the device does not exist)",
                             "list cameras with: ls /dev/video*")  # fmt: skip
        if (
            isinstance(device, int)
            and not os.path.exists(f"/dev/video{device}")
            and (os.name == "posix" and Path("/dev").is_dir())
        ):
            raise VideoError(f"no camera with index {device} (/dev/video{device} does not exist)",
                             "list cameras with: ls /dev/video*")  # fmt: skip
        capture = cv2.VideoCapture(device)
    else:
        capture = cv2.VideoCapture(spec.target, cv2.CAP_FFMPEG, params)
    return capture


def _capture_frames(spec: SourceSpec, reconnects: int, timeout: float) -> Iterator[Frame]:
    import cv2

    capture = _open_capture(spec, timeout)
    if not capture.isOpened():
        capture.release()
        what = "camera" if spec.kind == "camera" else "stream"
        raise VideoError(f"{spec.name}: cannot open the {what} (not a video, unreachable, or busy)")
    fps = capture.get(cv2.CAP_PROP_FPS)
    spec.info["fps"] = fps if fps and 0 < fps < 1000 else None
    start, index, failures = time.monotonic(), 0, 0
    try:
        while True:
            ok, bgr = capture.read()
            if ok and bgr is not None:
                failures = 0
                rgb = np.ascontiguousarray(bgr[..., ::-1])
                yield Frame(rgb, index, time.monotonic() - start, spec.name)
                index += 1
                continue
            if spec.kind == "url" and not spec.live:
                return
            failures += 1
            if failures > reconnects:
                raise VideoError(f"{spec.name}: stream stopped; gave up after {reconnects} "
                                 "reconnect attempts", "check that the camera or server is up")  # fmt: skip
            capture.release()
            time.sleep(min(0.25 * 2 ** (failures - 1), 8.0))  # back off: 0.25, 0.5, 1, 2... s
            capture = _open_capture(spec, timeout)
    finally:
        capture.release()


def describe(spec: SourceSpec) -> str:
    """``clip.mp4 (file)`` and the like, for progress lines."""
    return f"{spec.name} ({spec.kind})"


FrameFactory = Callable[[], Iterator[Frame]]
