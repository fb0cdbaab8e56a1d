"""Downloads against a real HTTP server on 127.0.0.1: good file, wrong hash, truncation, 404."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from rich.console import Console

from visiona.errors import ChecksumError, WeightsUnavailableError
from visiona.weights.download import download_file


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_good_file_is_saved_and_verified(http_server, tmp_path: Path) -> None:
    body = b"weights" * 1000
    url = http_server.add("/w.pth", body)
    dest = tmp_path / "cache" / "w.pth"
    assert download_file(url, dest, sha256=_sha(body)) == dest
    assert dest.read_bytes() == body
    assert not list(dest.parent.glob("*.part"))


def test_sha_prefix_is_accepted(http_server, tmp_path: Path) -> None:
    body = b"abc" * 10
    url = http_server.add("/p.pth", body)
    download_file(url, tmp_path / "p.pth", sha256=_sha(body)[:8])
    assert (tmp_path / "p.pth").read_bytes() == body


def test_wrong_hash_saves_nothing(http_server, tmp_path: Path) -> None:
    url = http_server.add("/bad.pth", b"tampered")
    dest = tmp_path / "bad.pth"
    with pytest.raises(ChecksumError, match="does not match its sha256"):
        download_file(url, dest, sha256="0" * 64)
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


def test_truncated_transfer_is_refused(http_server, tmp_path: Path) -> None:
    url = http_server.add("/cut.pth", b"x" * 500, declared_length=2000)
    dest = tmp_path / "cut.pth"
    with pytest.raises(WeightsUnavailableError, match="truncated: received 500 of 2000 bytes"):
        download_file(url, dest)
    assert not dest.exists() and list(tmp_path.iterdir()) == []


def test_404_is_a_clear_error(http_server, tmp_path: Path) -> None:
    with pytest.raises(WeightsUnavailableError, match="HTTP 404"):
        download_file(http_server.url + "/missing.pth", tmp_path / "m.pth")
    assert list(tmp_path.iterdir()) == []


def test_large_download_shows_a_progress_bar(http_server, tmp_path: Path) -> None:
    body = bytes(3 * (1 << 20))
    url = http_server.add("/big.safetensors", body)
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    download_file(url, tmp_path / "big.safetensors", label="big-model", console=console)
    output = buffer.getvalue()
    assert "big-model" in output
    assert "3.1" in output and "MB" in output  # DownloadColumn shows the total size


def test_small_download_shows_no_bar(http_server, tmp_path: Path) -> None:
    url = http_server.add("/small.pth", b"tiny")
    buffer = io.StringIO()
    download_file(url, tmp_path / "s.pth", label="small", console=Console(file=buffer))
    assert buffer.getvalue() == ""


def test_unknown_host_is_looked_up_once_and_never_retried(network_log, tmp_path: Path) -> None:
    with pytest.raises(WeightsUnavailableError, match="download failed"):
        download_file("https://download.example.invalid/w.pth", tmp_path / "w.pth")
    assert network_log.lookups == ["download.example.invalid"]  # no retry
    assert network_log.connects == []
    assert list(tmp_path.iterdir()) == []


def test_refused_connection_is_tried_once(network_log, refused_url, tmp_path: Path) -> None:
    with pytest.raises(WeightsUnavailableError, match=r"download failed: .*refused"):
        download_file(refused_url + "/w.pth", tmp_path / "w.pth")
    port = int(refused_url.rsplit(":", 1)[1])
    assert network_log.connects == [("127.0.0.1", port)]  # one attempt, no back-off loop
    assert list(tmp_path.iterdir()) == []
