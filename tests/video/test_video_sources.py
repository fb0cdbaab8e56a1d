"""Video sources, the reader thread and the writer, on small videos the tests write themselves."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from tests_support import require_module
from video_support import MjpegServer, moving_square, write_video
from visiona.data.video.reader import FrameReader
from visiona.data.video.sources import (
    Frame,
    Selection,
    VideoError,
    looks_like_video,
    open_frames,
    parse_source,
)
from visiona.data.video.writer import VideoWriter
from visiona.errors import InputNotFoundError, UsageError

require_module("av", 'pip install "visiona[video]"')


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_video(tmp_path / "clip.mp4", frames=20, fps=20)


def test_file_frames_carry_index_timestamp_and_pixels(clip: Path) -> None:
    frames = list(open_frames(parse_source(clip)))
    assert [f.index for f in frames] == list(range(20))
    assert frames[5].timestamp == pytest.approx(0.25, abs=1e-3)
    assert frames[0].array.shape == (48, 64, 3) and frames[0].array.dtype == np.uint8
    # the square of frame 3 sits at x = 6..17 (H.264 is lossy: compare loosely)
    assert np.abs(frames[3].array.astype(int) - moving_square(3)).mean() < 8


def test_selection_every_start_end_max_frames(clip: Path) -> None:
    spec = parse_source(clip)
    picked = list(open_frames(spec, Selection(every=3, start=0.2, end=0.8)))
    assert [f.index for f in picked] == [6, 9, 12, 15]
    assert [f.index for f in open_frames(spec, Selection(max_frames=4))] == [0, 1, 2, 3]
    with pytest.raises(UsageError):
        Selection(start=2, end=1)


@pytest.mark.parametrize("suffix", [".webm", ".mkv"])
def test_webm_and_mkv_round_trip(tmp_path: Path, suffix: str) -> None:
    path = write_video(tmp_path / f"clip{suffix}", frames=6, fps=10, size=(63, 47))
    frames = list(open_frames(parse_source(path)))
    assert len(frames) == 6
    assert frames[0].array.shape == (48, 64, 3)  # odd sizes are padded to even for 4:2:0


def test_rotation_metadata_is_applied(tmp_path: Path) -> None:
    import av

    path = tmp_path / "phone.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.set_display_rotation(90)  # as a phone filming in portrait writes it
        for index in range(3):
            frame = av.VideoFrame.from_ndarray(moving_square(index), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    frames = list(open_frames(parse_source(path)))
    assert frames[0].array.shape == (64, 48, 3)  # shown upright: 90° counter-clockwise
    expected = np.rot90(moving_square(0))
    assert np.abs(frames[0].array.astype(int) - expected).mean() < 8


def test_display_rotation_turns_the_pixels() -> None:
    from visiona.data.video.sources import _rotated

    class PhoneFrame:  # what PyAV reports for a portrait phone video
        rotation = 90

        def to_ndarray(self, format: str) -> np.ndarray:
            return moving_square(0)

    turned = _rotated(PhoneFrame())
    assert turned.shape == (64, 48, 3)
    assert np.array_equal(turned, np.rot90(moving_square(0)))


def test_truncated_file_gives_frames_up_to_the_damage_then_an_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    clip = tmp_path / "noise.mp4"
    with VideoWriter(clip, fps=20) as writer:  # noise: every frame is about the same size
        for _ in range(20):
            writer.write(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    data = clip.read_bytes()
    cut = clip.with_name("cut.mp4")
    cut.write_bytes(data[: len(data) // 2])
    seen = []
    with pytest.raises(VideoError, match="truncated or damaged"):
        for frame in open_frames(parse_source(cut)):
            seen.append(frame.index)
    assert 0 < len(seen) < 20 and seen == list(range(len(seen)))


def test_bad_files_fail_with_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all")
    with pytest.raises(VideoError, match="empty file"):
        list(open_frames(parse_source(empty)))
    with pytest.raises(VideoError, match="cannot open as video"):
        list(open_frames(parse_source(text)))
    with pytest.raises(InputNotFoundError):
        parse_source(tmp_path / "missing.mp4")


def test_missing_camera_fails_fast() -> None:
    started = time.monotonic()
    with pytest.raises(VideoError, match="no camera"):
        list(open_frames(parse_source("/dev/video97")))
    with pytest.raises(VideoError, match="no camera"):
        list(open_frames(parse_source("9")))
    assert time.monotonic() - started < 5


def test_source_kinds_are_recognised() -> None:
    assert looks_like_video("0") and looks_like_video("/dev/video2")
    assert looks_like_video("rtsp://cam/live") and looks_like_video("http://x/stream.mjpg")
    assert looks_like_video("frames/%05d.png") and looks_like_video("CLIP.MKV")
    assert not looks_like_video("cat.jpg") and not looks_like_video("photos/")
    assert parse_source("rtsp://user:secret@cam/live").name == "rtsp://user:***@cam/live"


def test_image_sequence_by_pattern_and_glob(tmp_path: Path) -> None:
    from PIL import Image

    for index in range(4):
        Image.fromarray(moving_square(index)).save(tmp_path / f"f{index:03d}.png")
    frames = list(open_frames(parse_source(str(tmp_path / "f%03d.png"), fps=10)))
    assert [f.index for f in frames] == [0, 1, 2, 3] and frames[2].timestamp == pytest.approx(0.2)
    spec = parse_source(str(tmp_path / "*.png"), images_as_video=True)
    assert spec is not None and len(list(open_frames(spec))) == 4


def test_mjpeg_stream_over_http() -> None:
    server = MjpegServer(frames=8)
    try:
        spec = parse_source(server.url)
        assert spec is not None and spec.live
        frames = list(open_frames(spec, Selection(max_frames=5), timeout=3))
        assert len(frames) == 5 and frames[0].array.shape == (48, 64, 3)
    finally:
        server.close()


def test_stalled_stream_reconnects_then_gives_up() -> None:
    server = MjpegServer(frames=4, stall=True, later_frames=0)
    try:
        got = []
        with pytest.raises(VideoError, match="gave up after 2 reconnect"):
            for frame in open_frames(parse_source(server.url), reconnects=2, timeout=1):
                got.append(frame)
        assert len(got) == 4 and server.connections >= 2
    finally:
        server.close()


def test_url_that_is_not_video() -> None:
    server = MjpegServer()
    try:
        with pytest.raises(VideoError, match="cannot open the stream"):
            list(
                open_frames(parse_source(server.url.replace("stream.mjpg", "page.html")), timeout=2)
            )
    finally:
        server.close()


def _frames(count: int, delay: float = 0.0):
    for index in range(count):
        time.sleep(delay)
        yield Frame(moving_square(index), index, index / 30, "gen")


def test_reader_for_files_keeps_every_frame_and_reraises_errors() -> None:
    def broken():
        yield from _frames(3)
        raise VideoError("damaged")

    reader = FrameReader(_frames(30), live=False, buffer=2)
    assert [f.index for f in reader] == list(range(30)) and reader.dropped == 0
    seen = []
    with pytest.raises(VideoError, match="damaged"):
        for frame in FrameReader(broken(), live=False):
            seen.append(frame.index)
    assert seen == [0, 1, 2]


def test_reader_for_live_sources_drops_stale_frames() -> None:
    reader = FrameReader(_frames(40, delay=0.002), live=True)
    seen = []
    for frame in reader:
        time.sleep(0.02)  # a slow network
        seen.append(frame.index)
    assert seen == sorted(seen) and seen[-1] == 39
    assert reader.dropped > 0 and len(seen) + reader.dropped == 40


def test_writer_resizes_changed_frames_and_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    writer = VideoWriter(target, fps=12.5)
    writer.write(moving_square(0))
    writer.write(np.zeros((30, 40, 3), np.uint8))  # frame size changes mid-stream
    assert not target.exists()  # only the temporary file exists until close()
    assert writer.close() == target
    assert writer.resized == 1
    frames = list(open_frames(parse_source(target)))
    assert len(frames) == 2 and frames[1].array.shape == (48, 64, 3)
    assert not list(tmp_path.glob(".*partial*"))
    with pytest.raises(UsageError):
        VideoWriter(tmp_path / "out.gif", fps=10)


def test_video_file_over_http_is_read_in_full(clip: Path, http_server) -> None:
    url = http_server.add("/media/clip.mp4", clip.read_bytes())
    spec = parse_source(url)
    assert spec is not None and not spec.live  # a file: every frame, no dropping
    frames = list(open_frames(spec, timeout=5))
    assert [f.index for f in frames] == list(range(20))
