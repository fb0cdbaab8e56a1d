"""Where weights live on disk, and sha256 checks that are not repeated needlessly.

The visiona cache is ``$VISIONA_HOME/weights`` (default ``~/.cache/visiona/weights``, following
``XDG_CACHE_HOME``). Hashing a 100 MB file costs a fraction of a second, so a verified file's size,
modification time and digest are remembered in ``.verified.json``; a file whose size or mtime
changed is hashed again. ``visiona weights verify`` always re-hashes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

CHUNK_SIZE = 1 << 20


def visiona_home() -> Path:
    """Root of visiona's own files (``$VISIONA_HOME`` or ``$XDG_CACHE_HOME/visiona``)."""
    if home := os.environ.get("VISIONA_HOME"):
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "visiona"


def weights_dir() -> Path:
    """Folder holding downloaded and imported weight files."""
    return visiona_home() / "weights"


def sha256_of(path: Path) -> str:
    """Full hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def digest_matches(actual: str, expected: str | None) -> bool:
    """True when ``actual`` (full hex) agrees with ``expected`` (full or prefix, or unknown)."""
    return expected is None or actual.startswith(expected.lower())


def _memo_path() -> Path:
    return weights_dir() / ".verified.json"


def _read_memo() -> dict[str, dict[str, object]]:
    try:
        return json.loads(_memo_path().read_text())
    except (OSError, ValueError):
        return {}


def _write_memo(memo: dict[str, dict[str, object]]) -> None:
    path = _memo_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
            json.dump(memo, tmp)
        os.replace(tmp.name, path)
    except OSError:
        # The memo only saves time; a read-only cache must not break loading.
        with contextlib.suppress(OSError):
            os.unlink(tmp.name)


def file_sha256(path: Path, *, recheck: bool = False) -> str:
    """sha256 of ``path``, reusing the remembered digest while size and mtime are unchanged."""
    path = path.resolve()
    stat = path.stat()
    key = str(path)
    memo = _read_memo()
    entry = memo.get(key)
    if (
        not recheck
        and entry
        and entry.get("size") == stat.st_size
        and entry.get("mtime_ns") == stat.st_mtime_ns
    ):
        return str(entry["sha256"])
    digest = sha256_of(path)
    memo[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
    _write_memo(memo)
    return digest


def torch_hub_checkpoint_dir() -> Path:
    """torch.hub's checkpoint folder, where torchvision users may already have weights."""
    if torch_home := os.environ.get("TORCH_HOME"):
        return Path(torch_home).expanduser() / "hub" / "checkpoints"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "torch" / "hub" / "checkpoints"


def huggingface_hub_cache() -> Path:
    """The Hugging Face hub cache, where timm/transformers users may already have weights."""
    if cache := os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE"):
        return Path(cache).expanduser()
    hf_home = os.environ.get("HF_HOME")
    if hf_home:
        return Path(hf_home).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "huggingface" / "hub"
