"""`visiona predict faces|pose|hands|facemesh|matting` and `visiona faces ...` on real photos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from perception_support import astronaut, chelsea, lfw_images, needs, variants
from visiona.results import Faces, Keypoints, result_from_dict

needs_all = needs("mediapipe", "dlib", "cv2")


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    Image.fromarray(astronaut()).save(folder / "astronaut.png")
    Image.fromarray(chelsea()).save(folder / "chelsea.jpg", quality=95)
    Image.fromarray(lfw_images()[0][19]).save(folder / "stranger.png")
    return folder


@pytest.fixture(scope="module")
def gallery_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gallery") / "people"
    for person, photo in (("eileen", astronaut()), ("lfw_a", lfw_images()[0][0])):
        (root / person).mkdir(parents=True)
        for name, variant in variants(photo).items():
            Image.fromarray(variant).save(root / person / f"{name}.jpg", quality=95)
    return root


@needs_all
def test_predict_faces_json_and_overlays(cli, photos: Path, tmp_path: Path) -> None:
    result = cli("predict", "faces", photos / "astronaut.png", photos / "chelsea.jpg", "--json",
                 "--save", tmp_path / "out")  # fmt: skip
    assert result.code == 0, result.err
    items = [result_from_dict(item) for item in json.loads(result.out)]
    assert [type(i) for i in items] == [Faces, Faces] and [len(i) for i in items] == [1, 0]
    assert items[0].backend == "blazeface.short_range" and items[0].image_size == (512, 512)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "astronaut_faces.png",
        "chelsea_faces.jpg",
    ]
    assert "found 1 face in 2 images" in result.err


@needs_all
@pytest.mark.parametrize("backend", ["hog", "haar"])
def test_predict_faces_table_for_other_backends(cli, photos: Path, backend: str) -> None:
    result = cli("predict", "faces", photos / "astronaut.png", "-m", backend)
    assert result.code == 0, result.err
    assert "astronaut.png" in result.out and "found 1 face in 1 image" in result.err


def test_predict_faces_bad_backend_is_exit_2(cli, photos: Path) -> None:
    result = cli("predict", "faces", photos / "astronaut.png", "--model", "yolo")
    assert result.code == 2 and "unknown faces backend 'yolo'" in result.err
    assert "Traceback" not in result.err
    # The old spelling still works for one release, with a one-line note.
    old = cli("predict", "faces", photos / "astronaut.png", "--backend", "yolo")
    assert old.code == 2 and "note: --backend/-b is deprecated, use -m/--model" in old.err
    both = cli("predict", "faces", photos / "astronaut.png", "-m", "hog", "-b", "haar")
    assert both.code == 2 and "give only -m/--model" in both.err


@needs_all
def test_predict_pose_hands_facemesh(cli, photos: Path, tmp_path: Path) -> None:
    pose = cli("predict", "pose", photos / "astronaut.png", "--json", "--save", tmp_path / "pose")
    assert pose.code == 0, pose.err
    (keypoints,) = [result_from_dict(item) for item in json.loads(pose.out)]
    assert isinstance(keypoints, Keypoints) and keypoints.points.shape == (1, 33, 3)
    overlay = np.asarray(Image.open(tmp_path / "pose" / "astronaut_pose.png"))
    assert overlay.shape == (512, 512, 3) and not np.array_equal(overlay, astronaut())
    mesh = cli("predict", "facemesh", photos / "astronaut.png", "--save", tmp_path / "pose")
    assert mesh.code == 0 and "478/478 points" in mesh.out
    again = cli(
        "predict", "pose", photos / "astronaut.png", "-m", "lite", "--save", tmp_path / "pose"
    )
    assert again.code == 0, again.err
    # Two tasks and a re-run into one folder: nothing is overwritten.
    assert sorted(p.name for p in (tmp_path / "pose").iterdir()) == [
        "astronaut_facemesh.png", "astronaut_pose-2.png", "astronaut_pose.png",
    ]  # fmt: skip
    hands = cli("predict", "hands", photos / "chelsea.jpg")
    assert hands.code == 0 and "found 0 hands in 1 image" in hands.err


@needs_all
def test_predict_matting_removes_the_background(cli, photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "matting"
    result = cli("predict", "matting", photos / "astronaut.png", "--remove-background",
                 "--save", out, "--background", "#0000ff")  # fmt: skip
    assert result.code == 0, result.err
    assert "person covers" in result.out
    alpha = np.asarray(Image.open(out / "astronaut_alpha.png"))
    cutout = Image.open(out / "astronaut_cutout.png")
    replaced = np.asarray(Image.open(out / "astronaut_background.png"))
    assert alpha.shape == (512, 512) and alpha[0, 0] < 30 and alpha[120, 220] > 225
    assert cutout.mode == "RGBA" and np.asarray(cutout)[0, 0, 3] < 30
    assert tuple(replaced[0, 0]) == pytest.approx((0, 0, 255), abs=30)
    missing_save = cli("predict", "matting", photos / "astronaut.png", "--remove-background")
    assert missing_save.code == 2 and "--save" in missing_save.err


@needs_all
@pytest.mark.slow
def test_enroll_identify_verify_evaluate_align(cli, photos: Path, gallery_dir: Path, tmp_path):
    gallery = tmp_path / "gallery.npz"
    enrolled = cli("faces", "enroll", gallery_dir, "-o", gallery)
    assert enrolled.code == 0, enrolled.err
    assert "of 2 people (eileen, lfw_a)" in enrolled.out and gallery.is_file()

    known = cli("faces", "identify", photos / "astronaut.png", "--gallery", gallery)
    assert known.code == 0 and "→ eileen (distance 0." in known.out
    unknown = cli("faces", "identify", photos / "stranger.png", "--gallery", gallery)
    assert unknown.code == 0 and "→ unknown (distance" in unknown.out
    nobody = cli("faces", "identify", photos / "chelsea.jpg", "--gallery", gallery, "--json")
    assert json.loads(nobody.out)[0]["faces"] == []

    same = cli("faces", "verify", photos / "astronaut.png", gallery_dir / "eileen" / "gray.jpg")
    assert same.code == 0 and same.out.startswith("same person")
    different = cli("faces", "verify", photos / "astronaut.png", photos / "stranger.png")
    assert different.code == 1 and different.out.startswith("different people")
    no_face = cli("faces", "verify", photos / "astronaut.png", photos / "chelsea.jpg")
    assert no_face.code == 2 and "no face found" in no_face.err

    pairs = tmp_path / "pairs.txt"
    pairs.write_text(
        f"{gallery_dir}/eileen/flipped.jpg {photos}/astronaut.png 1\n"
        f"{gallery_dir}/lfw_a/flipped.jpg {gallery_dir}/lfw_a/faded.jpg 1\n"
        f"{photos}/astronaut.png {photos}/stranger.png 0\n"
        f"{gallery_dir}/lfw_a/gray.jpg {photos}/stranger.png 0\n"
    )
    evaluated = cli("faces", "evaluate", pairs, "--json", "-o", tmp_path / "roc.png")
    assert evaluated.code == 0, evaluated.err
    report = json.loads(evaluated.out)
    assert report["pairs"] == 4 and report["auc"] == 1.0 and report["eer"] == 0.0
    assert Image.open(tmp_path / "roc.png").size[0] > 100

    aligned = cli("faces", "align", photos / "astronaut.png", "--save", tmp_path / "crops")
    assert aligned.code == 0 and "wrote 1 aligned face crops" in aligned.out
    assert Image.open(tmp_path / "crops" / "astronaut_face1.png").size == (150, 150)


def test_faces_cli_usage_errors(cli, photos: Path, tmp_path: Path) -> None:
    missing = cli("faces", "identify", photos / "astronaut.png", "--gallery", tmp_path / "no.npz")
    assert missing.code == 2 and "gallery not found" in missing.err
    not_a_folder = cli("faces", "enroll", tmp_path / "nowhere")
    assert not_a_folder.code == 2 and "gallery folder not found" in not_a_folder.err
    bad_pairs = tmp_path / "pairs.txt"
    bad_pairs.write_text("only-one-field\n")
    assert cli("faces", "evaluate", bad_pairs).code == 2
    assert "Traceback" not in missing.err + not_a_folder.err


@needs_all
def test_identify_prints_unknown_in_a_real_subprocess(cli_process, photos, gallery_dir, tmp_path):
    gallery = tmp_path / "g.npz"
    assert cli_process("faces", "enroll", gallery_dir, "--out", gallery).code == 0  # old spelling
    result = cli_process("faces", "identify", photos / "stranger.png", "--gallery", gallery)
    assert result.code == 0 and "unknown" in result.out


@needs("mediapipe")
def test_weights_list_and_verify_show_packaged_models(cli) -> None:
    listed = cli("weights", "list", "mediapipe_pose*")
    assert listed.code == 0 and "mediapipe_pose.full" in listed.out
    assert "pip:mediapipe" in listed.out and "27.7 MB" in listed.out
    verified = cli("weights", "verify", "blazeface*")
    assert verified.code == 0 and verified.out.count(" ok ") == 2


@needs_all
def test_faces_swap_writes_a_new_image(cli, photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "swapped.png"
    result = cli("faces", "swap", photos / "stranger.png", photos / "astronaut.png", "-o", out)
    assert result.code == 0, result.err
    swapped = np.asarray(Image.open(out))
    assert swapped.shape == (512, 512, 3) and not np.array_equal(swapped, astronaut())
    assert np.array_equal(swapped[:50], astronaut()[:50])  # far from the face: untouched
    no_face = cli("faces", "swap", photos / "chelsea.jpg", photos / "astronaut.png", "-o", out)
    assert no_face.code == 2 and "no face found" in no_face.err
    overwrite = cli("faces", "swap", photos / "stranger.png", photos / "astronaut.png",
                    "--output", photos / "astronaut.png")  # fmt: skip
    assert overwrite.code == 2 and "overwrite" in overwrite.err
