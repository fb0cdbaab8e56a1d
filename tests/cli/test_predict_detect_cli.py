"""`visiona predict detect`: table, JSON, CSV, overlays, class filters and bad usage."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests_support import subprocess_env
from visiona.cli.predict import _detection_task


@pytest.fixture(scope="module")
def detector_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised two-class detector saved as a visiona checkpoint.

    A low internal score threshold and a small internal size make it fast and make it find
    something, so outputs have rows to check.
    """
    import torch

    from visiona.models.catalog import get_spec
    from visiona.models.torchvision_detection import detection_preprocessing
    from visiona.weights.checkpoint import save_checkpoint
    from visiona.weights.record import Weights

    name = "fasterrcnn_mobilenet_v3_large_320_fpn"
    options = {"min_size": 96, "max_size": 128, "box_score_thresh": 0.0,
               "rpn_post_nms_top_n_test": 50, "box_detections_per_img": 10}  # fmt: skip
    torch.manual_seed(0)
    model = get_spec(name)[0].build(2, None, **options)
    record = Weights(
        model=name,
        tag="shapes",
        task="detect",
        preprocessing=detection_preprocessing(96),
        class_names=("circle", "square"),
    )
    folder = tmp_path_factory.mktemp("detector")
    return save_checkpoint(folder / "best", model, name, record, arch_options=options)


def _fingerprint(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.iterdir())}


def test_json_is_a_list_of_detections(cli, small_images, detector_checkpoint) -> None:
    folder = small_images[0].parent
    result = cli("predict", "detect", folder, "-m", detector_checkpoint, "--json", "--conf", "0")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert [Path(d["source"]).name for d in data] == ["img0.png", "img1.png", "img2.png"]
    first = data[0]
    assert first["task"] == "detect" and first["names"] == ["circle", "square"]
    assert first["image_size"] == [48, 40] and 0 < len(first["objects"]) <= 10
    box = first["objects"][0]["box"]
    assert 0 <= box[0] <= box[2] <= 48 and 0 <= box[1] <= box[3] <= 40
    assert first["objects"][0]["label"] in ("circle", "square")
    total = sum(len(d["objects"]) for d in data)
    assert f"detected {total} objects in 3 images" in result.err
    limited = cli("predict", "detect", folder, "-m", detector_checkpoint, "--json", "--conf", "0",
                  "--max-det", "2")  # fmt: skip
    assert all(len(d["objects"]) <= 2 for d in json.loads(limited.out))


def test_csv_rows_and_class_filter(cli, small_images, detector_checkpoint) -> None:
    args = ("predict", "detect", small_images[0], "-m", detector_checkpoint, "--conf", "0")
    everything = json.loads(cli(*args, "--json").out)[0]["objects"]
    result = cli(*args, "--csv", "--classes", "square")
    assert result.code == 0, result.err
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert result.out.splitlines()[0] == "source,class_id,label,score,x0,y0,x1,y1"
    squares = [o for o in everything if o["label"] == "square"]
    assert len(rows) == len(squares)
    for row, obj in zip(rows, squares, strict=True):
        assert row["source"] == str(small_images[0]) and row["class_id"] == "1"
        assert float(row["score"]) == pytest.approx(obj["score"], abs=1e-6)
        coords = [float(row[k]) for k in ("x0", "y0", "x1", "y1")]
        assert coords == pytest.approx(obj["box"], abs=0.01)
    by_id = cli(*args, "--csv", "--classes", "1")
    assert by_id.out == result.out


def test_table_and_overlays(cli, small_images, detector_checkpoint, tmp_path) -> None:
    folder = small_images[0].parent
    before = _fingerprint(folder)
    out = tmp_path / "annotated"
    result = cli("predict", "detect", folder, "-m", detector_checkpoint, "--conf", "0",
                 "--save", out)  # fmt: skip
    assert result.code == 0, result.err
    assert "objects" in result.out and "img1.png" in result.out
    assert "square ×" in result.out or "circle ×" in result.out
    assert sorted(p.name for p in out.iterdir()) == [
        "img0_detect.png", "img1_detect.png", "img2_detect.png",
    ]  # fmt: skip
    overlay = Image.open(out / "img0_detect.png")
    assert overlay.size == (48, 40)
    assert overlay.tobytes() != Image.open(small_images[0]).convert("RGB").tobytes()
    assert str(out / "img0_detect.png") in result.err
    assert "predicting: 3/3" in result.err  # not a terminal: progress as plain lines
    assert _fingerprint(folder) == before


def test_default_model_with_random_init(cli, small_images) -> None:
    result = cli("predict", "detect", small_images[0], "--random-init", "--json")
    assert result.code == 0, result.err
    [data] = json.loads(result.out)
    assert len(data["names"]) == 90 and "in 1 image" in result.err


def test_unreadable_files_are_reported(cli, small_images, detector_checkpoint, tmp_path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    result = cli("predict", "detect", small_images[0], bad, "-m", detector_checkpoint, "--json")
    assert result.code == 1
    assert "broken.png" in result.err and "1 could not be read" in result.err
    assert len(json.loads(result.out)) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--conf", "1.5"], "--conf"), (["--iou", "-1"], "--iou"), (["--max-det", "0"], "--max-det"),
     (["--classes", "triangle"], "no class named 'triangle'"), (["--classes", "7"], "out of range"),
     (["--json", "--csv"], "choose one of --json and --csv"),
     (["--roi", "middle"], "invalid --roi")],
)  # fmt: skip
def test_bad_options_exit_2(cli, small_images, detector_checkpoint, args, message) -> None:
    result = cli("predict", "detect", small_images[0], "-m", detector_checkpoint, *args)
    assert result.code == 2 and message in result.err
    assert result.out == ""


def test_wrong_kind_of_model_exits_2(cli, small_images) -> None:
    result = cli("predict", "detect", small_images[0], "-m", "resnet18", "--random-init")
    assert result.code == 2 and "solves 'classify', not 'detect'" in result.err
    result = cli("predict", "detect", small_images[0], "-m", "fasterrcnn_resnet5", "--random-init")
    assert result.code == 2 and "did you mean 'fasterrcnn_resnet50_fpn'" in result.err


def test_mask_and_keypoint_models_pick_their_task(detector_checkpoint) -> None:
    assert _detection_task(None) == "detect"
    assert _detection_task("maskrcnn_resnet50_fpn") == "segment-instances"
    assert _detection_task("keypointrcnn_resnet50_fpn.coco_v1") == "keypoints"
    assert _detection_task(str(detector_checkpoint)) == "detect"
    assert _detection_task("resnet18") == "detect"  # load_model then says what is wrong
    assert _detection_task("no/such/file.safetensors") == "detect"


def test_detect_help_imports_no_heavy_library() -> None:
    probe = (
        "import sys, visiona.cli.app as cli\n"
        "try:\n    cli.main(['predict', 'detect', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('HEAVY=' + ','.join(m for m in ('torch', 'numpy', 'PIL') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(),
    )
    assert done.returncode == 0, done.stderr
    assert "--max-det" in done.stdout and done.stdout.strip().splitlines()[-1] == "HEAVY="
