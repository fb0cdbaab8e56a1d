"""``visiona predict TASK VIDEO``, ``visiona.predict(..., stream=True)`` and the tracking CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests_support import require_module, subprocess_env
from video_support import MjpegServer, write_video
from visiona.data.video.sources import open_frames, parse_source

require_module("av", 'pip install "visiona[video]"')

CLASSIFIER = ("-m", "test_classifier", "--random-init")


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_video(tmp_path / "clip.mp4", frames=20, fps=20)


def _frames(path: Path) -> list:
    return list(open_frames(parse_source(path)))


def test_classify_video_writes_playable_mp4_and_jsonl(cli, clip: Path, tmp_path: Path) -> None:
    import av

    out, lines = tmp_path / "out" / "annotated.mp4", tmp_path / "frames.jsonl"
    out.parent.mkdir()
    result = cli("predict", "classify", clip, *CLASSIFIER, "--save", out, "--jsonl", lines,
                 "--roi", "center:0.5")  # fmt: skip
    assert result.code == 0, result.err
    records = [json.loads(line) for line in lines.read_text().splitlines()]
    assert [r["frame"] for r in records] == list(range(20))
    assert records[4]["timestamp"] == pytest.approx(0.2) and records[0]["task"] == "classify"
    assert records[0]["roi"] == [20, 12, 44, 36] and "latency_ms" in records[0]
    with av.open(str(out)) as container:  # same size and rate, a codec browsers play
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 64, 48)
        assert float(stream.average_rate) == pytest.approx(20)
    assert len(_frames(out)) == 20
    assert "20 frames" in result.err and "FPS" in result.err


def test_json_lines_on_stdout_with_every_and_max_frames(cli, clip: Path) -> None:
    result = cli("predict", "classify", clip, *CLASSIFIER, "--json", "--every", "3",
                 "--max-frames", "4")  # fmt: skip
    assert result.code == 0, result.err
    assert [json.loads(line)["frame"] for line in result.out.splitlines()] == [0, 3, 6, 9]


def test_save_folder_names_the_video_after_the_source(cli, clip: Path, tmp_path: Path) -> None:
    result = cli("predict", "classify", clip, *CLASSIFIER, "--save", tmp_path / "runs",
                 "--max-frames", "3")  # fmt: skip
    assert result.code == 0, result.err
    assert len(_frames(tmp_path / "runs" / "clip.mp4")) == 3


def test_truncated_video_reports_results_then_one_error_line(cli, tmp_path: Path) -> None:
    import numpy as np

    from visiona.data.video.writer import VideoWriter

    rng = np.random.default_rng(1)
    clip = tmp_path / "noise.mp4"
    with VideoWriter(clip, fps=20) as writer:
        for _ in range(20):
            writer.write(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    data = clip.read_bytes()
    clip.write_bytes(data[: len(data) // 2])
    result = cli("predict", "classify", clip, *CLASSIFIER, "--json")
    assert result.code == 1
    frames = [json.loads(line)["frame"] for line in result.out.splitlines()]
    assert frames and frames == list(range(len(frames))) and len(frames) < 20
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "truncated" in errors[0] and "Traceback" not in result.err


@pytest.mark.parametrize(
    ("source", "code", "message"),
    [("/dev/video93", 1, "no camera"), ("missing.mkv", 2, "video not found")],
)
def test_bad_sources_are_one_line(cli, source: str, code: int, message: str) -> None:
    result = cli("predict", "classify", source, *CLASSIFIER)
    assert result.code == code and message in result.err and "Traceback" not in result.err


def test_video_options_need_a_video_and_show_needs_a_display(
    cli, clip: Path, small_images, monkeypatch
) -> None:
    result = cli("predict", "classify", small_images[0], *CLASSIFIER, "--every", "2")
    assert result.code == 2 and "need a video source" in result.err
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    result = cli("predict", "classify", clip, *CLASSIFIER, "--show")
    assert result.code == 2 and "--show needs a display" in result.err
    result = cli("predict", "classify", clip, *CLASSIFIER, "--count-line", "0,0,10,10")
    assert result.code == 2 and "--track" in result.err


def test_image_folder_as_a_video(cli, small_images, tmp_path: Path) -> None:
    lines = tmp_path / "seq.jsonl"
    folder = str(Path(small_images[0]).parent)
    result = cli("predict", "classify", folder, *CLASSIFIER, "--jsonl", lines, "--fps", "5")
    assert result.code == 0, result.err
    records = [json.loads(line) for line in lines.read_text().splitlines()]
    assert len(records) == len(small_images) and records[1]["timestamp"] == pytest.approx(0.2)


def test_faces_on_video_with_tracking(cli, clip: Path, tmp_path: Path) -> None:
    require_module("cv2")
    lines = tmp_path / "faces.jsonl"
    result = cli("predict", "faces", clip, "--backend", "haar", "--track", "bytetrack",
                 "--count-line", "32,0,32,48", "--jsonl", lines, "--save", tmp_path / "f.mp4")  # fmt: skip
    assert result.code == 0, result.err
    records = [json.loads(line) for line in lines.read_text().splitlines()]
    assert len(records) == 20 and records[0]["task"] == "faces" and "counts" in records[0]
    assert "line crossings" in result.err


def test_python_api_streams_frame_predictions(clip: Path) -> None:
    import visiona

    stream = visiona.predict("classify", str(clip), model="test_classifier", pretrained=False,
                             stream=True, every=5)  # fmt: skip
    predictions = list(stream)
    assert [p.index for p in predictions] == [0, 5, 10, 15]
    assert predictions[1].timestamp == pytest.approx(0.25)
    assert predictions[0].to_dict()["frame"] == 0 and predictions[0].result.top1
    images = visiona.predict("classify", [predictions[0].image], model="test_classifier",
                             pretrained=False, stream=True)  # fmt: skip
    assert len(list(images)) == 1


def test_ctrl_c_leaves_a_playable_video(tmp_path: Path) -> None:
    server = MjpegServer(frames=100_000, fps=30)
    out, lines = tmp_path / "live.mp4", tmp_path / ".live.jsonl.partial"
    process = subprocess.Popen(
        [sys.executable, "-m", "visiona", "predict", "classify", server.url, *CLASSIFIER,
         "--save", str(out), "--jsonl", str(tmp_path / "live.jsonl")],
        env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (
            not lines.exists() or lines.read_text().count("\n") < 5
        ):
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
        server.close()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert len(_frames(out)) >= 5
    assert (tmp_path / "live.jsonl").read_text().count("\n") >= 5


def test_faces_on_video_are_named_from_a_gallery(cli, tmp_path: Path) -> None:
    require_module("dlib")
    import numpy as np
    from PIL import Image

    from perception_support import astronaut, variants
    from visiona.data.video.writer import VideoWriter

    people = tmp_path / "people" / "eileen"
    people.mkdir(parents=True)
    for name, variant in variants(astronaut()).items():
        Image.fromarray(variant).save(people / f"{name}.jpg", quality=95)
    gallery = tmp_path / "gallery.npz"
    assert cli("faces", "enroll", people.parent, "--out", gallery).code == 0
    clip = tmp_path / "eileen.mp4"
    with VideoWriter(clip, fps=10) as writer:
        for shift in range(3):
            writer.write(np.roll(astronaut(), 4 * shift, axis=1))
    result = cli("predict", "faces", clip, "--gallery", gallery, "--track", "bytetrack", "--json")
    assert result.code == 0, result.err
    records = [json.loads(line) for line in result.out.splitlines()]
    names = {face["identity"] for record in records for face in record["faces"]}
    assert len(records) == 3 and names == {"eileen"}
