"""``visiona predict embed`` and ``visiona train classify --backbone --head`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from tests_support import write_colour_folder


def test_predict_embed_writes_npy_and_parquet_and_reuses_the_cache(cli, tmp_path: Path) -> None:
    folder = write_colour_folder(tmp_path / "data", per_class=2, size=32)
    (folder / "red" / "broken.png").write_bytes(b"not an image")
    npy = tmp_path / "out" / "vectors.npy"
    done = cli("predict", "embed", folder, "-o", npy)
    assert done.code == 1, done.err  # one unreadable image
    assert "broken.png" in done.err and "embedded 6 image(s)" in done.err
    vectors = np.load(npy)
    meta = json.loads(npy.with_name("vectors.npy.json").read_text())
    assert vectors.shape == (6, 1280) and len(meta["sources"]) == 6
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert meta["model"] == "efficientnet_lite0.imagenet1k"

    (folder / "red" / "broken.png").unlink()
    parquet = tmp_path / "out" / "vectors.parquet"
    again = cli("predict", "embed", folder, "-o", parquet)
    assert again.code == 0, again.err
    assert "6 from the cache" in again.err
    from visiona.engine.embed.vectors import read_vectors

    sources, table_vectors, model = read_vectors(parquet)
    assert model == "efficientnet_lite0.imagenet1k"
    np.testing.assert_allclose(table_vectors, vectors, atol=1e-6)
    assert sources == meta["sources"]


def test_predict_embed_json_and_bad_output_suffix(cli, tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    Image.fromarray(np.full((32, 32, 3), 120, np.uint8)).save(image)
    done = cli("predict", "embed", image, "--json", "--no-cache")
    assert done.code == 0, done.err
    [row] = json.loads(done.out)
    assert row["dimension"] == 1280 and len(row["vector"]) == 1280
    bad = cli("predict", "embed", image, "-o", tmp_path / "v.txt")
    assert bad.code == 2 and ".npy or .parquet" in bad.err


def test_light_head_run_cache_checkpoint_predict_and_export(cli, tmp_path: Path) -> None:
    data = write_colour_folder(tmp_path / "data", per_class=6, size=32)
    project = tmp_path / "runs"
    first = cli("train", "classify", "-d", data, "--backbone", "efficientnet_lite0",
                "--head", "knn", "--project", project, "--name", "knn")  # fmt: skip
    assert first.code == 0, first.err
    run = project / "classify" / "knn"
    best = json.loads((run / "best.json").read_text())["metrics"]
    assert best["embedded_now"] == 18 and best["val/acc"] >= 0.99
    assert (run / "evaluation" / "metrics.json").is_file()
    assert (run / "evaluation" / "confusion_matrix.png").is_file()

    Image.fromarray(np.full((32, 32, 3), (200, 40, 40), np.uint8)).save(data / "red" / "new.png")
    second = cli("train", "classify", "-d", data, "--backbone", "efficientnet_lite0",
                 "--head", "logistic", "--project", project, "--name", "logistic")  # fmt: skip
    assert second.code == 0, second.err
    run = project / "classify" / "logistic"
    assert json.loads((run / "best.json").read_text())["metrics"]["embedded_now"] == 1

    probe = write_colour_folder(tmp_path / "probe", per_class=1, size=32, seed=7) / "blue/0.png"
    predicted = cli("predict", "classify", probe, "-m", run / "best.safetensors", "--json")
    assert predicted.code == 0, predicted.err
    assert json.loads(predicted.out)[0]["top"][0]["label"] == "blue"

    onnx_file = tmp_path / "head.onnx"
    exported = cli("export", run / "best.safetensors", "-o", onnx_file)
    assert exported.code == 0, exported.err
    from_onnx = cli("predict", "classify", probe, "-m", onnx_file, "--json")
    assert from_onnx.code == 0, from_onnx.err
    assert json.loads(from_onnx.out)[0]["top"][0]["label"] == "blue"


def test_light_head_rejects_an_unknown_head(cli, tmp_path: Path) -> None:
    data = write_colour_folder(tmp_path / "data", per_class=2, size=16)
    done = cli("train", "classify", "-d", data, "--backbone", "efficientnet_lite0",
               "--head", "svm", "--project", tmp_path / "runs")  # fmt: skip
    assert done.code == 2 and "--head must be one of" in done.err


def test_dlib_face_embeddings_through_the_same_command(cli, tmp_path: Path) -> None:
    from skimage import data

    face = tmp_path / "astronaut.png"
    Image.fromarray(data.astronaut()).save(face)
    Image.fromarray(data.astronaut()[:, ::-1]).save(tmp_path / "mirror.png")
    Image.fromarray(data.coffee()).save(tmp_path / "coffee.png")
    done = cli("predict", "embed", tmp_path, "-m", "dlib-face", "--no-normalize", "--json")
    assert done.code == 1  # coffee has no face: listed, the others embedded
    assert "coffee.png" in done.err and "no face" in done.err
    rows = {Path(row["source"]).name: np.array(row["vector"]) for row in json.loads(done.out)}
    assert sorted(rows) == ["astronaut.png", "mirror.png"]
    assert rows["astronaut.png"].size == 128
    assert np.linalg.norm(rows["astronaut.png"] - rows["mirror.png"]) < 0.6  # same person
