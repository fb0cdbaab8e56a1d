"""``visiona index build|search|duplicates`` and ``visiona embed map`` on real photos."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visiona.engine.embed.index import make_faiss_index


@pytest.fixture
def photo_folder(tmp_path: Path) -> Path:
    """Four distinct skimage photos (small PNGs)."""
    from skimage import data

    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        image = Image.fromarray(getattr(data, name)())
        image.thumbnail((160, 160))
        image.save(folder / f"{name}.png")
    return folder


def _summary(done) -> dict:
    return json.loads(done.out)


def test_build_is_incremental_and_search_finds_the_image_itself(
    cli, photo_folder: Path, tmp_path: Path
) -> None:
    index = tmp_path / "photos.index"
    first = cli("index", "build", photo_folder, "-o", index, "--json")
    assert first.code == 0, first.err
    assert _summary(first)["embedded"] == 4 and _summary(first)["kind"] == "flat"

    again = cli("index", "build", photo_folder, "-o", index, "--json")
    assert _summary(again)["embedded"] == 0 and _summary(again)["reused"] == 4

    (photo_folder / "rocket.png").unlink()
    Image.open(photo_folder / "coffee.png").rotate(90).save(photo_folder / "coffee.png")
    Image.open(photo_folder / "chelsea.png").convert("L").convert("RGB").save(
        photo_folder / "grey.png"
    )
    (photo_folder / "broken.png").write_bytes(b"not an image")
    changed = cli("index", "build", photo_folder, "-o", index, "--json")
    assert changed.code == 1  # broken.png skipped and listed; the rest indexed
    summary = _summary(changed)
    assert (summary["embedded"], summary["reused"], summary["removed"]) == (2, 2, 1)
    assert summary["images"] == 4 and "broken.png" in changed.err

    sheet = tmp_path / "hits.png"
    found = cli("index", "search", index, photo_folder / "astronaut.png", "-k", "3",
                "-o", sheet, "--json")  # fmt: skip
    assert found.code == 0, found.err
    hits = json.loads(found.out)["hits"]
    assert len(hits) == 3 and hits[0]["path"].endswith("astronaut.png")
    assert hits[0]["score"] == pytest.approx(1, abs=1e-4)
    assert Image.open(sheet).size[0] > 0


def test_bad_queries_and_damaged_index_files(cli, photo_folder: Path, tmp_path: Path) -> None:
    index = tmp_path / "photos.index"
    assert cli("index", "build", photo_folder, "-o", index).code == 0
    text = cli("index", "search", index, "--text", "a cat")
    assert text.code == 2 and "text search needs a CLIP/SigLIP index" in text.err
    both = cli("index", "search", index)
    assert both.code == 2 and "query image or --text" in both.err

    good = index.read_bytes()
    index.write_bytes(good[: len(good) // 2])
    truncated = cli("index", "search", index, photo_folder / "coffee.png")
    assert truncated.code == 1 and "not a readable visiona index" in truncated.err
    assert "Traceback" not in truncated.err
    rebuilt = cli("index", "build", photo_folder, "-o", index)
    assert rebuilt.code == 1 and "not a readable visiona index" in rebuilt.err
    assert len(index.read_bytes()) == len(good) // 2  # a failed build leaves the file alone


def test_query_model_must_match_the_index(photo_folder: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    from visiona.engine.embed.index import build_index, query_vectors
    from visiona.errors import UsageError

    index = build_index(photo_folder, tmp_path / "p.index").index
    other = replace(index, model="resnet18.imagenet1k_v1")
    with pytest.raises(UsageError, match="built with resnet18"):
        query_vectors(other, images=[photo_folder / "coffee.png"])


def test_duplicates_finds_planted_copies_and_nothing_else(
    cli, photo_folder: Path, tmp_path: Path
) -> None:
    image = Image.open(photo_folder / "chelsea.png")
    image.resize((image.width // 2, image.height // 2)).save(photo_folder / "copy-small.png")
    image.save(photo_folder / "copy-q40.jpg", quality=40)
    w, h = image.size
    image.crop((w // 20, h // 20, w - w // 20, h - h // 20)).save(photo_folder / "copy-crop.png")
    index = tmp_path / "photos.index"
    assert cli("index", "build", photo_folder, "-o", index).code == 0
    done = cli("index", "duplicates", index, "--json", "-o", tmp_path / "dups.png")
    assert done.code == 0, done.err
    groups = json.loads(done.out)["groups"]
    assert [sorted(Path(p).name for p in group) for group in groups] == [
        ["chelsea.png", "copy-crop.png", "copy-q40.jpg", "copy-small.png"]
    ]
    assert (tmp_path / "dups.png").is_file()


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_indexes_keep_recall(kind: str) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[:100] + rng.normal(0, 0.05, (100, 32)).astype(np.float32)
    exact, _ = make_faiss_index(vectors, "flat")
    approximate, built = make_faiss_index(vectors, kind)
    assert built == kind
    _, truth = exact.search(queries, 10)
    _, found = approximate.search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found, strict=True)])
    assert recall >= 0.85  # uniform random vectors: the hardest case for IVF


def test_embed_map_writes_a_png_and_a_projector(cli, tmp_path: Path) -> None:
    from tests_support import write_colour_folder

    data = write_colour_folder(tmp_path / "data", per_class=3, size=24)
    out = tmp_path / "map.png"
    projector = tmp_path / "projector"
    done = cli("embed", "map", data, "-o", out, "--projector", projector, "--method", "pca")
    assert done.code == 0, done.err
    assert Image.open(out).size[0] > 100
    rows = (projector / "metadata.tsv").read_text().splitlines()
    assert rows[0] == "label\tfile" and len(rows) == 10
    assert np.loadtxt(projector / "vectors.tsv").shape == (9, 1280)
    assert "sprite.png" in os.listdir(projector)
