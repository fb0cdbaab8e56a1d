"""Hugging Face hub snapshots: a repository at a pinned revision, with a sha256 per file.

Models from ``transformers`` (CLIP, DINOv2, SigLIP) need a folder of files (config, weights,
tokenizer), not one file. A :class:`HubSnapshot` names them; resolution follows the single-file
rule: the visiona cache (``$VISIONA_HOME/hub/models--ORG--NAME/snapshots/REVISION/``) → the
Hugging Face cache (same layout, when the revision is a commit) → download each file from
``{HF_ENDPOINT}/{repo}/resolve/{revision}/{file}`` (no retries) → an error naming
``visiona weights pull NAME`` and ``visiona weights import NAME FOLDER|ZIP``.

A file whose sha256 is not recorded in the catalogue is hashed when it arrives and its digest is
kept in ``.visiona-manifest.json`` beside it, so later loads still detect a changed file.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from visiona.errors import ChecksumError, WeightsError, WeightsUnavailableError
from visiona.weights.cache import digest_matches, file_sha256, huggingface_hub_cache, visiona_home
from visiona.weights.download import download_file, offline_mode
from visiona.weights.sources import HubFile

if TYPE_CHECKING:
    from rich.console import Console

MANIFEST = ".visiona-manifest.json"


@dataclass(frozen=True)
class HubSnapshot:
    """Files of one hub repository at one revision.

    Attributes:
        repo_id: ``ORG/NAME`` on the hub.
        revision: A commit hash (pinned) or a branch name.
        files: ``(filename, sha256 or None)`` pairs; every file must be present.
    """

    repo_id: str
    revision: str
    files: tuple[tuple[str, str | None], ...]

    @property
    def folder_name(self) -> str:
        return "models--" + self.repo_id.replace("/", "--")

    def url(self, filename: str) -> str:
        return HubFile(self.repo_id, self.revision, filename).url


def hub_cache_dir() -> Path:
    """Where visiona keeps hub snapshots."""
    return visiona_home() / "hub"


def snapshot_dir(snapshot: HubSnapshot) -> Path:
    """The visiona cache folder of ``snapshot``."""
    return hub_cache_dir() / snapshot.folder_name / "snapshots" / snapshot.revision


def _manifest(folder: Path) -> dict[str, str]:
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def _complete(folder: Path, snapshot: HubSnapshot) -> bool:
    """Every file is present and matches its recorded (or first-seen) sha256."""
    if not folder.is_dir():
        return False
    seen = _manifest(folder)
    for filename, sha256 in snapshot.files:
        path = folder / filename
        if not path.is_file():
            return False
        expected = sha256 or seen.get(filename)
        if expected and not digest_matches(file_sha256(path), expected):
            return False
    return True


def find_snapshot(snapshot: HubSnapshot) -> Path | None:
    """A complete, verified local folder of ``snapshot`` (visiona cache, then HF cache), or None."""
    candidates = [snapshot_dir(snapshot)]
    candidates.append(
        huggingface_hub_cache() / snapshot.folder_name / "snapshots" / snapshot.revision
    )
    return next((folder for folder in candidates if _complete(folder, snapshot)), None)


def _write_manifest(folder: Path, snapshot: HubSnapshot) -> None:
    digests = {name: file_sha256(folder / name) for name, _ in snapshot.files}
    (folder / MANIFEST).write_text(json.dumps(digests, indent=1, sort_keys=True))


def pull_snapshot(snapshot: HubSnapshot, *, console: Console | None = None) -> Path:
    """Download every file of ``snapshot`` into a temporary folder, then move it into place.

    Raises:
        WeightsUnavailableError: A file could not be downloaded (no retries).
        ChecksumError: A file does not match its recorded sha256; nothing is kept.
    """
    final = snapshot_dir(snapshot)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".pull-", dir=final.parent))
    try:
        for filename, sha256 in snapshot.files:
            download_file(
                snapshot.url(filename),
                staging / filename,
                sha256=sha256,
                label=f"{snapshot.repo_id}/{filename}",
                console=console,
            )
        _write_manifest(staging, snapshot)
        _replace_folder(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def _replace_folder(staging: Path, final: Path) -> None:
    if final.exists():
        old = final.with_name(final.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(final)


def import_snapshot(snapshot: HubSnapshot, source: Path, *, force: bool = False) -> Path:
    """Copy a downloaded snapshot (a folder, or a zip of one) into the cache; ``source`` is untouched.

    The files may sit at the top of the folder/zip or one level down (``clip-vit-base-patch32/``).

    Raises:
        WeightsError: ``source`` is missing, or lacks a file of the snapshot.
        ChecksumError: A file's sha256 differs from the catalogue's (unless ``force``).
    """
    source = Path(source).expanduser()
    if not source.exists():
        raise WeightsError(f"not found: {str(source)!r}")
    final = snapshot_dir(snapshot)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=final.parent))
    try:
        with contextlib.ExitStack() as stack:
            if source.is_file():
                if not zipfile.is_zipfile(source):
                    raise WeightsError(f"{source} is neither a folder nor a zip file")
                unpacked = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                with zipfile.ZipFile(source) as archive:
                    _safe_extract(archive, unpacked)
                root = _snapshot_root(unpacked, snapshot)
            else:
                root = _snapshot_root(source, snapshot)
            for filename, sha256 in snapshot.files:
                target = staging / filename
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(root / filename, target)
                actual = file_sha256(target)
                if not digest_matches(actual, sha256) and not force:
                    raise ChecksumError(
                        f"{filename} in {source} does not match {snapshot.repo_id}@"
                        f"{snapshot.revision[:12]} (sha256 {actual[:12]}…, expected {sha256}…)",
                        hint="pass --force to import it anyway",
                    )
        _write_manifest(staging, snapshot)
        _replace_folder(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def _snapshot_root(folder: Path, snapshot: HubSnapshot) -> Path:
    names = [name for name, _ in snapshot.files]
    for root in (folder, *sorted(p for p in folder.iterdir() if p.is_dir())):
        if all((root / name).is_file() for name in names):
            return root
    missing = [name for name in names if not (folder / name).is_file()]
    raise WeightsError(
        f"{folder} is not a snapshot of {snapshot.repo_id}: missing {', '.join(missing)}",
        hint="download the repository's files at revision " + snapshot.revision,
    )


def _safe_extract(archive: zipfile.ZipFile, destination: Path) -> None:
    root = destination.resolve()
    for member in archive.infolist():
        target = (destination / member.filename).resolve()
        if not target.is_relative_to(root):
            raise WeightsError(f"refusing zip entry outside the archive: {member.filename!r}")
    archive.extractall(destination)


def snapshot_unavailable_error(
    name: str, snapshot: HubSnapshot, failures: list[str] | None = None
) -> WeightsUnavailableError:
    """The actionable error for a snapshot that is neither on disk nor downloadable."""
    hints = [
        f"expected: {snapshot_dir(snapshot)}/ ({', '.join(n for n, _ in snapshot.files)})",
        f"fetch:    visiona weights pull {name}   (needs network; "
        f"{snapshot.repo_id}@{snapshot.revision[:12]})",
        f"or:       visiona weights import {name} /path/to/snapshot-folder-or.zip",
    ]
    hints.extend(f"tried:    {failure}" for failure in failures or [])
    if offline_mode():
        hints.append("note:     downloads are off (VISIONA_OFFLINE or HF_HUB_OFFLINE is set)")
    return WeightsUnavailableError(f"weights for {name!r} are not available offline.", hint=hints)


def resolve_snapshot(
    name: str,
    snapshot: HubSnapshot,
    *,
    allow_download: bool = True,
    console: Console | None = None,
) -> tuple[Path, str]:
    """``(folder, origin)`` of a complete local copy, downloading it when allowed and online.

    Raises:
        WeightsUnavailableError: Offline (or the download failed) and no local copy.
    """
    local = find_snapshot(snapshot)
    if local is not None:
        return local, "cache"
    failures: list[str] = []
    if allow_download and not offline_mode():
        try:
            return pull_snapshot(snapshot, console=console), "download"
        except ChecksumError:
            raise
        except WeightsUnavailableError as error:
            failures.append(error.message)
    raise snapshot_unavailable_error(name, snapshot, failures)


@contextlib.contextmanager
def hub_offline():
    """``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE`` on while loading a local snapshot, so neither
    transformers nor huggingface_hub ever tries (and retries) the network."""
    saved = {key: os.environ.get(key) for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ.update({key: "1" for key in saved})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
