"""Face recognition end to end on real photos: alignment, gallery, identify, pairs evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from perception_support import astronaut, lfw_images, needs, variants
from visiona.errors import InputNotFoundError, UsageError
from visiona.faces.alignment import TEMPLATE_150, align_face, alignment_matrix
from visiona.faces.evaluation import evaluate_pairs, read_pairs, verification_report
from visiona.faces.gallery import UNKNOWN, Gallery, enroll, identify

needs_dlib = needs("dlib", "cv2")


def test_alignment_puts_eyes_and_nose_on_the_template() -> None:
    landmarks = np.array([[210, 105], [250, 110], [228, 130], [np.nan] * 2, [np.nan] * 2])
    matrix = alignment_matrix(landmarks)
    moved = np.c_[landmarks[:3], np.ones(3)] @ matrix.T
    np.testing.assert_allclose(moved, TEMPLATE_150[:3], atol=1e-3)
    assert align_face(astronaut(), landmarks).shape == (150, 150, 3)
    assert align_face(astronaut(), landmarks, size=64).shape == (64, 64, 3)


def test_alignment_without_landmarks_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="right_eye, left_eye, nose"):
        alignment_matrix(np.full((5, 2), np.nan))


def test_verification_report_on_known_distances() -> None:
    perfect = verification_report(np.array([0.2, 0.3, 0.8, 0.9]), np.array([1, 1, 0, 0]))
    assert perfect.auc == 1.0 and perfect.eer == 0.0 and perfect.best_accuracy == 1.0
    assert 0.3 <= perfect.best_threshold < 0.8
    mixed = verification_report(np.array([0.2, 0.7, 0.5, 0.9]), np.array([1, 1, 0, 0]))
    assert mixed.auc == 0.75 and 0 < mixed.eer <= 0.5 and mixed.best_accuracy == 0.75
    with pytest.raises(UsageError, match="both"):
        verification_report(np.array([0.1, 0.2]), np.array([1, 1]))


def test_pairs_file_parsing(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("a,b,label\n# comment\nx.jpg, y.jpg, 1\n/abs/z.jpg w.jpg 0\n\n")
    parsed = read_pairs(pairs)
    assert [(p.first.name, p.second, p.same) for p in parsed] == [
        ("x.jpg", tmp_path / "y.jpg", True), ("z.jpg", tmp_path / "w.jpg", False),
    ]  # fmt: skip
    pairs.write_text("x.jpg y.jpg yes\n")
    with pytest.raises(UsageError, match=r"pairs.csv:1"):
        read_pairs(pairs)
    with pytest.raises(InputNotFoundError):
        read_pairs(tmp_path / "missing.txt")


def write_gallery(root: Path) -> Path:
    """eileen/: variants of the astronaut photo; lfw_a/: variants of one LFW face."""
    for person, photo in (("eileen", astronaut()), ("lfw_a", lfw_images()[0][0])):
        folder = root / person
        folder.mkdir(parents=True)
        for name, variant in variants(photo).items():
            Image.fromarray(variant).save(folder / f"{name}.jpg", quality=95)
    return root


@pytest.fixture(scope="module")
def recognizer():
    from visiona.faces.recognizer import FaceRecognizer

    return FaceRecognizer("hog")


@needs_dlib
def test_enroll_then_identify_known_and_unknown(tmp_path: Path, recognizer) -> None:
    gallery = enroll(write_gallery(tmp_path / "people"), recognizer)
    assert gallery.people == ["eileen", "lfw_a"]
    assert gallery.names.count("eileen") == 4 and gallery.embeddings.shape[1] == 128
    assert all(Path(s).is_file() for s in gallery.sources)
    saved = Gallery.load(gallery.save(tmp_path / "gallery.npz"))
    np.testing.assert_array_equal(saved.embeddings, gallery.embeddings)
    assert saved.names == gallery.names and saved.detector == "hog"

    original = identify(astronaut(), saved, recognizer)  # not itself in the gallery
    assert original.identities == ("eileen",) and original.distances[0] < 0.35
    stranger = identify(lfw_images()[0][19], saved, recognizer)  # another LFW person
    assert stranger.identities == (UNKNOWN,) and stranger.distances[0] > 0.6
    assert identify(np.full((200, 200, 3), 90, np.uint8), saved, recognizer).identities == ()


@needs_dlib
def test_enroll_reports_photos_without_faces(tmp_path: Path, recognizer) -> None:
    root = write_gallery(tmp_path / "people")
    Image.fromarray(np.full((120, 120, 3), 30, np.uint8)).save(root / "eileen" / "blank.png")
    gallery = enroll(root, recognizer)
    assert (str(root / "eileen" / "blank.png"), "no face found") in gallery.skipped
    with pytest.raises(InputNotFoundError):
        enroll(tmp_path / "nowhere", recognizer)


def test_a_corrupt_gallery_file_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "gallery.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(UsageError, match="not a visiona face gallery"):
        Gallery.load(bad)
    assert bad.read_bytes() == b"not a zip"


@needs_dlib
def test_evaluate_pairs_separates_same_and_different(tmp_path: Path, recognizer) -> None:
    write_gallery(tmp_path / "people")
    stranger = tmp_path / "stranger.png"
    Image.fromarray(lfw_images()[0][19]).save(stranger)
    lines = [
        "people/eileen/flipped.jpg people/eileen/gray.jpg 1",
        "people/eileen/cropped.jpg people/eileen/faded.jpg 1",
        "people/lfw_a/flipped.jpg people/lfw_a/faded.jpg 1",
        "people/eileen/flipped.jpg people/lfw_a/gray.jpg 0",
        "people/eileen/gray.jpg stranger.png 0",
        "people/lfw_a/cropped.jpg stranger.png 0",
    ]
    (tmp_path / "pairs.txt").write_text("\n".join(lines))
    from visiona.io.images import load_image

    def embed(path: Path):
        encoded = recognizer.encode(load_image(path).array)
        index = encoded.largest()
        return None if index is None else encoded.embeddings[index]

    report = evaluate_pairs(read_pairs(tmp_path / "pairs.txt"), embed)
    assert len(report.distances) + len(report.skipped) == 6
    assert report.auc == 1.0 and report.eer == 0.0
    assert report.best_accuracy == 1.0


@needs_dlib
def test_face_swap_changes_only_the_face_and_carries_the_identity(recognizer) -> None:
    from visiona.faces.swap import swap_face

    target, source = astronaut(), lfw_images()[0][0]
    target_faces, source_faces = recognizer.detector(target), recognizer.detector(source)
    original = target.copy()
    swapped = swap_face(source, source_faces.landmarks[0], target, target_faces.landmarks[0])
    np.testing.assert_array_equal(target, original)  # input untouched
    changed = np.abs(swapped.astype(int) - target).sum(axis=-1) > 0
    x0, y0, x1, y1 = target_faces.xyxy[0].astype(int)
    assert changed[y0:y1, x0:x1].mean() > 0.3
    outside = changed.copy()
    outside[y0 - 15 : y1 + 15, x0 - 15 : x1 + 15] = False
    assert not outside.any()
    embedded = recognizer.encode(swapped)
    index = embedded.largest()
    to_source = np.linalg.norm(embedded.embeddings[index] - recognizer.encode(source).embeddings[0])
    to_target = np.linalg.norm(embedded.embeddings[index] - recognizer.encode(target).embeddings[0])
    assert to_source < to_target
