"""Hub snapshots (pinned revision, sha256 per file) from a loopback server that mimics the hub's
``/{repo}/resolve/{revision}/{file}`` URLs, and tiny random CLIP/DINOv2 models through them."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from hub_support import write_tiny_clip, write_tiny_dinov2
from tests_support import write_colour_folder
from visiona.models import hf
from visiona.weights.hub import HubSnapshot, snapshot_dir

REVISION = "0123456789abcdef0123456789abcdef01234567"


def _snapshot(folder: Path, repo: str) -> HubSnapshot:
    files = tuple(
        (path.name, hashlib.sha256(path.read_bytes()).hexdigest())
        for path in sorted(folder.iterdir())
        if path.is_file()
    )
    return HubSnapshot(repo, REVISION, files)


@pytest.fixture(scope="module")
def tiny_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny_hub")
    return {
        "clip": write_tiny_clip(root / "clip"),
        "dinov2": write_tiny_dinov2(root / "dinov2"),
    }


@pytest.fixture
def tiny_catalogue(monkeypatch: pytest.MonkeyPatch, tiny_folders) -> dict[str, HubSnapshot]:
    """Point the catalogue's clip-vit-b32 and dinov2-small at the tiny test snapshots."""
    snapshots = {
        "clip": _snapshot(tiny_folders["clip"], "test-org/tiny-clip"),
        "dinov2": _snapshot(tiny_folders["dinov2"], "test-org/tiny-dinov2"),
    }
    for name, kind in (("clip-vit-b32", "clip"), ("dinov2-small", "dinov2")):
        entry = hf.HUB_MODELS[name]
        monkeypatch.setitem(
            hf.HUB_MODELS, name, hf.HubModel(name, kind, snapshots[kind], "MIT", entry.description)
        )
    return snapshots


def _serve(http_server, snapshot: HubSnapshot, folder: Path) -> None:
    for filename, _ in snapshot.files:
        path = f"/{snapshot.repo_id}/resolve/{snapshot.revision}/{filename}"
        http_server.add(path, (folder / filename).read_bytes())


@pytest.fixture
def image(tmp_path: Path) -> Path:
    return write_colour_folder(tmp_path / "images", per_class=1, size=40) / "red" / "0.png"


def test_offline_and_missing_names_the_pull_and_import_commands(
    cli, tiny_catalogue, http_server, monkeypatch, image
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", http_server.url)  # HF_HUB_OFFLINE=1 is set by conftest
    done = cli("predict", "embed", image, "-m", "clip")
    assert done.code != 0  # 3 once WeightsUnavailableError carries the issue-12 exit code
    assert "visiona weights pull clip-vit-b32" in done.err
    assert "visiona weights import clip-vit-b32" in done.err
    assert http_server.requests == []  # offline means no request at all, so no retries


def test_pull_from_the_hub_then_embed_and_zero_shot_offline(
    cli, tiny_catalogue, tiny_folders, http_server, monkeypatch, image
) -> None:
    snapshot = tiny_catalogue["clip"]
    _serve(http_server, snapshot, tiny_folders["clip"])
    monkeypatch.setenv("HF_ENDPOINT", http_server.url)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    pulled = cli("weights", "pull", "clip")
    assert pulled.code == 0, pulled.err
    folder = snapshot_dir(snapshot)
    assert all((folder / name).is_file() for name, _ in snapshot.files)
    assert f"/test-org/tiny-clip/resolve/{REVISION}/config.json" in http_server.requests

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedded = cli("predict", "embed", image, "-m", "clip", "--json")
    assert embedded.code == 0, embedded.err
    assert json.loads(embedded.out)[0]["dimension"] == 16

    zero_shot = cli(
        "predict", "classify", image, "-m", "clip", "--labels", "cat, dog,car", "--json"
    )
    assert zero_shot.code == 0, zero_shot.err
    top = json.loads(zero_shot.out)[0]["top"]
    assert sorted(entry["label"] for entry in top) == ["car", "cat", "dog"]
    assert sum(entry["probability"] for entry in top) == pytest.approx(1, abs=1e-4)

    duplicate = cli("predict", "classify", image, "-m", "clip", "--labels", "cat,cat")
    assert duplicate.code == 2 and "duplicate label" in duplicate.err
    empty = cli("predict", "classify", image, "-m", "clip", "--labels", "")
    assert empty.code == 2 and "non-empty labels" in empty.err
    no_text = cli("predict", "classify", image, "-m", "dinov2", "--labels", "a,b")
    assert no_text.code == 2 and "text tower" in no_text.err


def test_a_tampered_file_on_the_hub_is_refused_and_nothing_is_kept(
    cli, tiny_catalogue, tiny_folders, http_server, monkeypatch
) -> None:
    snapshot = tiny_catalogue["dinov2"]
    _serve(http_server, snapshot, tiny_folders["dinov2"])
    http_server.add(f"/{snapshot.repo_id}/resolve/{REVISION}/config.json", b"{}")
    monkeypatch.setenv("HF_ENDPOINT", http_server.url)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    done = cli("weights", "pull", "dinov2-small")
    assert done.code != 0 and "sha256" in done.err
    assert not snapshot_dir(snapshot).exists()


def test_import_a_zip_then_a_light_head_on_dinov2_round_trips(
    cli, tiny_catalogue, tiny_folders, tmp_path: Path
) -> None:
    archive = tmp_path / "dinov2.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in tiny_folders["dinov2"].iterdir():
            handle.write(path, f"dinov2-small/{path.name}")
    imported = cli("weights", "import", "dinov2-small", archive)
    assert imported.code == 0, imported.err

    data = write_colour_folder(tmp_path / "data", per_class=4, size=32)
    project = tmp_path / "runs"
    trained = cli("train", "classify", "-d", data, "--backbone", "dinov2-small", "--head",
                  "linear", "--project", project, "--name", "dino")  # fmt: skip
    assert trained.code == 0, trained.err
    checkpoint = project / "classify" / "dino" / "best.safetensors"
    predicted = cli("predict", "classify", data / "red" / "0.png", "-m", checkpoint, "--json")
    assert predicted.code == 0, predicted.err
    assert json.loads(predicted.out)[0]["top"][0]["label"] in ("blue", "green", "red")


def test_import_refuses_an_incomplete_folder(cli, tiny_catalogue, tiny_folders, tmp_path) -> None:
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "config.json").write_bytes((tiny_folders["clip"] / "config.json").read_bytes())
    done = cli("weights", "import", "clip", partial)
    assert done.code != 0 and "missing" in done.err


def test_text_search_on_a_clip_index(cli, tiny_catalogue, tiny_folders, tmp_path: Path) -> None:
    assert cli("weights", "import", "clip", tiny_folders["clip"]).code == 0
    images = write_colour_folder(tmp_path / "images", per_class=2, size=32)
    index = tmp_path / "clip.index"
    built = cli("index", "build", images, "-m", "clip", "-o", index)
    assert built.code == 0, built.err
    found = cli("index", "search", index, "--text", "a red square", "-k", "4", "--json",
                "--no-sheet")  # fmt: skip
    assert found.code == 0, found.err
    hits = json.loads(found.out)["hits"]
    assert len(hits) == 4 and all(-1 <= hit["score"] <= 1 for hit in hits)
    by_image = cli("index", "search", index, images / "red" / "0.png", "--json", "--no-sheet")
    assert json.loads(by_image.out)["hits"][0]["path"].endswith("red/0.png")
