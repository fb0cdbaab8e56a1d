"""``visiona data convert | check | make shapes | list``: output and exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests_support import subprocess_env


def test_make_shapes_prints_counts_and_list_shows_it(cli, tmp_path: Path) -> None:
    out = tmp_path / "shapes"
    result = cli(
        "data",
        "make",
        "shapes",
        out,
        "--format",
        "yolo",
        "--images",
        "10",
        "--size",
        "48",
        "--seed",
        "3",
    )
    assert result.code == 0, result.err
    assert "shapes (yolo): 48×48 px RGB" in result.out
    assert "wrote 10 images" in result.out and str(out) in result.out
    assert (out / "data.yaml").is_file() and len(list((out / "images").rglob("*.png"))) == 10
    assert cli("data", "make", "shapes", out, "--images", "2").code == 2  # not empty
    assert cli("data", "make", "shapes", out, "--images", "2", "--overwrite").code == 0
    assert (out / "annotations/instances_train.json").is_file()  # default format: coco

    result = cli("data", "list")
    assert result.code == 0 and "shapes" in result.out and "generated" in result.out


def test_make_options_that_do_not_fit_are_usage_errors(cli, tmp_path: Path) -> None:
    result = cli("data", "make", "shapes", tmp_path / "a", "--format", "png")
    assert result.code == 2 and "unknown label format 'png'" in result.err
    assert cli("data", "make", "shapes", tmp_path / "b", "--limit-per-class", "3").code == 2
    result = cli("data", "make", "digits", tmp_path / "c", "--images", "3")
    assert result.code == 2 and "--images only applies to shapes" in result.err
    result = cli("data", "make", "shape", tmp_path / "d")
    assert result.code == 2 and "did you mean 'shapes'" in result.err


def test_convert_then_check(cli, tmp_path: Path, yolo_dir: Path, tree_hash) -> None:
    before = tree_hash(yolo_dir)
    result = cli("data", "convert", yolo_dir, tmp_path / "coco", "--to", "coco")
    assert result.code == 0, result.err
    assert "converted 4 images (4 objects) from yolo to coco" in result.err
    assert tree_hash(yolo_dir) == before
    result = cli("data", "check", tmp_path / "coco")
    assert result.code == 0, result.out
    assert "cat" in result.out and "dog" in result.out
    assert "1 images without labels (treated as background)" in result.out
    assert result.out.rstrip().endswith("ok: 0 errors, 0 warnings")

    result = cli(
        "data", "convert", tmp_path / "coco", tmp_path / "voc", "--from", "coco", "--to", "voc"
    )
    assert result.code == 0 and (tmp_path / "voc/Annotations").is_dir()


def test_check_prints_file_line_message_and_exits_1(cli, yolo_dir: Path) -> None:
    (yolo_dir / "labels/train/a.txt").write_text("0 0.5 0.5 0.2 0.4\n7 0.5 0.5 0.2 0.2\n")
    (yolo_dir / "labels/val/d.txt").write_text("0 0.5 0.5 0.2 0.4\n0 0.5 0.5 0.2 0.4\n")
    result = cli("data", "check", yolo_dir)
    assert result.code == 1
    lines = result.out.splitlines()
    assert f"{yolo_dir}/labels/train/a.txt:2: class id 7 out of range (2 classes: 0-1)" in lines
    assert f"{yolo_dir}/labels/val/d.txt:2: warning: duplicate of line 1" in lines
    assert "(class id 7)" in result.out  # stray class ids get their own table row
    assert lines[-1] == "errors found: 1 errors, 1 warnings"

    (yolo_dir / "labels/train/a.txt").write_text("0 0.5 0.5 0.2 0.4\n")
    result = cli("data", "check", yolo_dir, "--no-hash")
    assert result.code == 0 and "1 warnings" in result.out  # warnings alone: exit 0


def test_usage_errors_exit_2(cli, tmp_path: Path, yolo_dir: Path) -> None:
    (tmp_path / "plain").mkdir()
    result = cli("data", "check", tmp_path / "plain")
    assert result.code == 2 and result.err.startswith("error: cannot tell the label format")
    assert cli("data", "check", yolo_dir, "--format", "kitti").code == 2
    assert cli("data", "check", tmp_path / "missing").code == 2
    result = cli("data", "check", yolo_dir, "--format", "voc")
    assert (
        result.code == 1
        and "this is not a VOC data set; it looks like YOLO (data.yaml)" in result.out
    )
    result = cli("data", "convert", yolo_dir, yolo_dir / "inside", "--to", "coco")
    assert result.code == 2 and "inside the source" in result.err
    assert not (yolo_dir / "inside").exists()
    assert cli("data", "convert", yolo_dir, tmp_path / "x", "--to", "csv").code == 2
    assert cli("data", "convert", yolo_dir, tmp_path / "x").code == 2  # --to is required


def test_help_of_new_commands_stays_light() -> None:
    probe = """
import sys
import visiona.cli.app as cli
for args in (["data", "convert", "--help"], ["data", "check", "--help"]):
    try:
        cli.main(args)
    except SystemExit:
        pass
heavy = sorted(m for m in ("torch", "numpy", "PIL") if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
"""
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(),
    )
    assert done.returncode == 0, done.stderr
    assert "--from" in done.stdout and "--no-hash" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "HEAVY="


def test_convert_reports_source_problems_but_still_converts(
    cli, tmp_path: Path, yolo_dir: Path
) -> None:
    (yolo_dir / "labels/train/a.txt").write_text("0 0.5 0.5 0.2 0.4\n0 0.5 0.5\n")
    result = cli("data", "convert", yolo_dir, tmp_path / "voc", "--to", "voc")
    assert result.code == 1  # a broken line was skipped: like data check, not a clean success
    assert f"{yolo_dir}/labels/train/a.txt:2: expected 5 values" in result.err
    assert "1 problem in the source (see: visiona data check" in result.err
    assert result.err.rstrip().splitlines()[-1] == "error: 1 errors in the source"
    assert "<xmin>41</xmin>" in (tmp_path / "voc/Annotations/a.xml").read_text()


def test_convert_exits_1_when_nothing_was_converted(cli, tmp_path: Path) -> None:
    import json

    root = tmp_path / "coco"
    (root / "annotations").mkdir(parents=True)
    (root / "annotations/instances.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "gone.png", "width": 10, "height": 10}],
        "categories": [{"id": 1, "name": "cat"}], "annotations": [],
    }))  # fmt: skip
    result = cli("data", "convert", root, tmp_path / "yolo", "--to", "yolo")
    assert result.code == 1, result.err
    assert "converted 0 images" in result.err
    assert "nothing converted" in result.err.rstrip().splitlines()[-1]
    assert "Traceback" not in result.err


def test_convert_yolo_labels_option(cli, tmp_path: Path, yolo_dir: Path) -> None:
    result = cli("data", "convert", yolo_dir, tmp_path / "coco", "--to", "coco")
    assert result.code == 0, result.err
    boxes = cli("data", "convert", tmp_path / "coco", tmp_path / "boxes", "--to", "yolo")
    assert boxes.code == 0, boxes.err  # masks left out is a note, not a failure
    assert "note: 1 masks not written" in boxes.err
    assert (tmp_path / "boxes/labels/train/b.txt").read_text() == "1 0.3 0.3 0.4 0.4\n"
    polygons = cli("data", "convert", tmp_path / "coco", tmp_path / "polygons", "--to", "yolo",
                   "--yolo-labels", "polygons")  # fmt: skip
    assert polygons.code == 0, polygons.err
    assert (tmp_path / "polygons/labels/train/b.txt").read_text() == "1 0.1 0.1 0.5 0.1 0.5 0.5\n"
    bad = cli("data", "convert", tmp_path / "coco", tmp_path / "bad", "--to", "yolo",
              "--yolo-labels", "masks")  # fmt: skip
    assert bad.code == 2 and "boxes, polygons" in bad.err and not (tmp_path / "bad").exists()
