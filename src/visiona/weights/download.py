"""One-shot HTTP downloads into the cache, verified by size and sha256.

There are no retries on purpose: offline, a failed DNS lookup or refused connection answers at once,
and the caller turns it into an actionable error in well under a second instead of burning tens of
seconds in back-off loops. Files are written to ``*.part`` beside the destination and renamed into
place only when complete and verified, so the cache never holds half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from visiona.errors import ChecksumError, WeightsUnavailableError
from visiona.weights.cache import CHUNK_SIZE, digest_matches

if TYPE_CHECKING:
    from rich.console import Console

PROGRESS_MIN_BYTES = 1 << 20
CONNECT_TIMEOUT_S = 10.0


def offline_mode() -> bool:
    """True when the user asked for no network: ``VISIONA_OFFLINE`` or ``HF_HUB_OFFLINE``."""
    return any(
        os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}
        for var in ("VISIONA_OFFLINE", "HF_HUB_OFFLINE")
    )


def _request(url: str) -> urllib.request.Request:
    headers = {"User-Agent": "visiona"}
    token = os.environ.get("HF_TOKEN")
    if token and "/resolve/" in url:
        headers["Authorization"] = f"Bearer {token}"
    return urllib.request.Request(url, headers=headers)


def download_file(
    url: str,
    destination: Path,
    *,
    sha256: str | None = None,
    label: str | None = None,
    console: Console | None = None,
    timeout: float = CONNECT_TIMEOUT_S,
) -> Path:
    """Download ``url`` to ``destination`` atomically, checking length and sha256.

    Args:
        url: HTTP(S) URL.
        destination: Final path; parent folders are created.
        sha256: Expected digest (full or prefix); ``None`` skips the check.
        label: Name shown on the progress bar (defaults to the file name).
        console: Rich console for the progress bar (stderr by default); files under 1 MiB show none.
        timeout: Seconds to wait for the connection and for each read.

    Returns:
        ``destination``.

    Raises:
        WeightsUnavailableError: Network error, HTTP error status or truncated transfer.
        ChecksumError: The downloaded bytes do not match ``sha256``.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    digest = hashlib.sha256()
    received = 0
    try:
        with urllib.request.urlopen(_request(url), timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with (
                open(partial, "wb") as out,
                _progress(label or destination.name, total, console) as advance,
            ):
                while chunk := response.read(CHUNK_SIZE):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    advance(len(chunk))
    except urllib.error.HTTPError as error:
        _discard(partial)
        raise WeightsUnavailableError(
            f"download failed: HTTP {error.code} {error.reason} for {url}"
        ) from None
    except (TimeoutError, urllib.error.URLError, OSError, http.client.HTTPException) as error:
        _discard(partial)
        reason = getattr(error, "reason", None) or error
        raise WeightsUnavailableError(f"download failed: {reason} ({url})") from None
    if total is not None and received != total:
        _discard(partial)
        raise WeightsUnavailableError(
            f"download truncated: received {received} of {total} bytes from {url}",
            hint="the connection dropped; run the command again",
        )
    actual = digest.hexdigest()
    if not digest_matches(actual, sha256):
        _discard(partial)
        raise ChecksumError(
            f"downloaded file does not match its sha256: expected {sha256}…, got {actual[:16]}… ({url})",
            hint="the file on the server differs from the one visiona knows; nothing was saved",
        )
    os.replace(partial, destination)
    return destination


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


@contextlib.contextmanager
def _progress(label: str, total: int | None, console: Console | None):
    """Yield an ``advance(n)`` callable; shows a Rich bar for transfers of 1 MiB or more."""
    if total is not None and total < PROGRESS_MIN_BYTES:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
    )
    with progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)
