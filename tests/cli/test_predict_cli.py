"""`visiona predict classify`: tables, JSON/CSV, overlays, ROI, and every bad input."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

from PIL import Image


def _fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_chelsea_is_an_egyptian_cat_offline(cli_process, photos) -> None:
    result = cli_process("predict", "classify", photos["chelsea"], env={"VISIONA_OFFLINE": "1"})
    assert result.code == 0, result.err
    rows = [line for line in result.out.splitlines() if "chelsea.jpg" in line]
    assert rows and "Egyptian cat" in rows[0]
    assert "classified 1 image" in result.err


def test_json_output_folder_and_glob(cli, photos) -> None:
    folder = photos["chelsea"].parent
    by_folder = cli("predict", "classify", folder, "--json", "-k", "2")
    assert by_folder.code == 0
    data = json.loads(by_folder.out)
    assert [Path(d["source"]).name for d in data] == ["chelsea.jpg", "coffee.jpg"]
    assert data[1]["top"][0]["label"] == "espresso" and len(data[1]["top"]) == 2
    by_glob = cli("predict", "classify", str(folder / "c*.jpg"), "--json", "-k", "2")
    assert json.loads(by_glob.out) == data


def test_csv_output(cli, photos) -> None:
    result = cli("predict", "classify", photos["coffee"], "--csv", "--top-k", "3")
    assert result.code == 0
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert len(rows) == 3 and rows[0]["label"] == "espresso" and rows[0]["rank"] == "1"
    assert 0.8 < float(rows[0]["probability"]) <= 1.0


def test_save_writes_overlays_without_touching_inputs(cli, photos, tmp_path) -> None:
    before = _fingerprint(photos["chelsea"].parent)
    out = tmp_path / "annotated"
    result = cli(
        "predict", "classify", photos["chelsea"].parent, "--save", out, "--roi", "center:0.5"
    )
    assert result.code == 0, result.err
    saved = sorted(p.name for p in out.iterdir())
    assert saved == ["chelsea_classify.jpg", "coffee_classify.jpg"]  # the task in the name
    assert Image.open(out / "chelsea_classify.jpg").size == (451, 300)
    assert str(out / "chelsea_classify.jpg") in result.err  # listed at the end of the run
    assert _fingerprint(photos["chelsea"].parent) == before
    again = cli("predict", "classify", photos["chelsea"], "--save", out)
    assert again.code == 0 and (out / "chelsea_classify-2.jpg").is_file()  # nothing overwritten


def test_save_into_the_input_folder_is_refused(cli, photos) -> None:
    before = _fingerprint(photos["chelsea"].parent)
    result = cli("predict", "classify", photos["chelsea"], "--save", photos["chelsea"].parent)
    assert result.code == 2 and "holds the input images" in result.err
    assert _fingerprint(photos["chelsea"].parent) == before


def test_roi_changes_what_is_classified(cli, photos) -> None:
    whole = json.loads(cli("predict", "classify", photos["chelsea"], "--json").out)[0]
    centre = json.loads(
        cli("predict", "classify", photos["chelsea"], "--json", "--roi", "center:0.5").out
    )[0]
    assert centre["roi"] == [150, 75, 300, 225] and whole["roi"] is None
    assert centre["top"][0]["probability"] != whole["top"][0]["probability"]


def test_bad_files_are_reported_one_line_each_and_the_run_goes_on(cli, photos, tmp_path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.jpg").write_bytes(photos["coffee"].read_bytes())
    (folder / "text.jpg").write_text("hello, I am not a picture")
    (folder / "cut.jpg").write_bytes(photos["chelsea"].read_bytes()[:3000])
    before = _fingerprint(folder)
    result = cli("predict", "classify", folder, "--json")
    assert result.code == 1
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert any("text.jpg" in e and "not a recognised image" in e for e in errors)
    assert any("cut.jpg" in e and "truncated" in e for e in errors)
    assert [Path(d["source"]).name for d in json.loads(result.out)] == ["good.jpg"]
    assert "Traceback" not in result.err
    assert _fingerprint(folder) == before


def test_decompression_bomb_header_is_refused(cli, tmp_path) -> None:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 100))
        + chunk(b"IEND", b"")
    )  # fmt: skip
    result = cli("predict", "classify", bomb)
    assert result.code == 1 and "bomb.png" in result.err and "MP" in result.err


def test_usage_errors_exit_2_with_one_line(cli, tmp_path, photos) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = {
        "path not found": ("predict", "classify", tmp_path / "missing.jpg"),
        "holds no images": ("predict", "classify", empty),
        "did you mean 'resnet18'": ("predict", "classify", photos["coffee"], "-m", "resnet19"),
        "invalid --roi": ("predict", "classify", photos["coffee"], "--roi", "left"),
        "choose one of --json and --csv": (
            "predict",
            "classify",
            photos["coffee"],
            "--json",
            "--csv",
        ),
        "model file not found": (
            "predict",
            "classify",
            photos["coffee"],
            "-m",
            "./nope.safetensors",
        ),
    }
    for expected, args in cases.items():
        result = cli(*args)
        assert result.code == 2, (expected, result.err)
        assert result.err.startswith("error: ") and expected in result.err, result.err
        assert "Traceback" not in result.err


def test_missing_weights_offline_is_one_actionable_error(cli_process, photos) -> None:
    result = cli_process("predict", "classify", photos["coffee"], "-m", "resnet18",
                         env={"VISIONA_OFFLINE": "1"})  # fmt: skip
    assert result.code == 3  # README exit codes: not available offline
    assert result.err.startswith("error: weights for 'resnet18.imagenet1k_v1' are not available")
    assert "visiona weights pull resnet18.imagenet1k_v1" in result.err
    assert "Traceback" not in result.err


def test_random_init_and_checkpoint_models(cli, small_images, tmp_path) -> None:
    import torch

    from visiona.models.load import load_model
    from visiona.weights.checkpoint import save_checkpoint

    result = cli(
        "predict", "classify", small_images[0], "-m", "test_classifier", "--random-init", "--json"
    )
    assert result.code == 0 and json.loads(result.out)[0]["top"][0]["label"].startswith("class_")
    torch.manual_seed(0)
    loaded = load_model("test_classifier", pretrained=False, num_classes=2)
    record = loaded.weights.with_classes(("ant", "bee"))
    save_checkpoint(tmp_path / "run" / "best", loaded.module, "test_classifier", record)
    result = cli("predict", "classify", small_images[0], "-m", tmp_path / "run" / "best", "--json")
    assert result.code == 0
    assert {e["label"] for e in json.loads(result.out)[0]["top"]} == {"ant", "bee"}
