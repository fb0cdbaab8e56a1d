"""Keep native libraries' log chatter (MediaPipe, TF-Lite, absl, glog) off the user's terminal.

MediaPipe and TF-Lite write straight to file descriptor 2 from C++ (``INFO: Created TensorFlow
Lite XNNPACK delegate``, glog ``W0000 ... inference_feedback_manager.cc`` lines, the harmless
``'MessageFactory' object has no attribute 'GetPrototype'`` message), so Python's
``sys.stderr`` cannot filter them. :func:`native_stderr_filtered` points fd 2 at a temporary
file while model set-up or inference runs, then replays every line that is not known chatter
(errors stay visible). With ``visiona --verbose`` (or ``VISIONA_VERBOSE=1``) nothing is hidden.

fd 2 is shared by every thread, so nested and concurrent uses are counted: the first one
redirects, the last one restores and replays.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

NOISE_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern)
    for pattern in (
        r"'MessageFactory' object has no attribute 'GetPrototype'",
        r"^INFO: Created TensorFlow Lite .*delegate",
        r"^INFO: Initialized TensorFlow Lite runtime",
        r"^WARNING: All log messages before absl::InitializeLog\(\) is called",
        # glog/absl INFO and WARNING lines: "W0000 00:00:1796006620.199048  7938 file.cc:114] ..."
        r"^[IW]\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\]",
        r"No CUDA runtime is found",
    )
)
"""Lines never shown without ``--verbose``: informational chatter, not problems."""

_verbose = False
_lock = threading.Lock()
_depth = 0
_saved_fd: int | None = None
_capture: tempfile._TemporaryFileWrapper | None = None  # type: ignore[type-arg]


def set_verbose(verbose: bool) -> None:
    """Show (``True``) or filter (``False``, the default) native libraries' log lines."""
    global _verbose
    _verbose = verbose


def is_verbose() -> bool:
    """Whether library chatter is shown: ``--verbose`` or ``VISIONA_VERBOSE=1``."""
    return _verbose or os.environ.get("VISIONA_VERBOSE", "") not in ("", "0")


def is_noise(line: str) -> bool:
    """Whether ``line`` is known library chatter (see :data:`NOISE_PATTERNS`)."""
    return any(pattern.search(line) for pattern in NOISE_PATTERNS)


def filter_noise(text: str) -> str:
    """``text`` without its chatter lines (a lone ``AttributeError`` traceback header too)."""
    return "".join(line for line in text.splitlines(keepends=True) if not is_noise(line))


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass


def _fd2_usable() -> bool:
    try:
        os.fstat(2)
    except OSError:
        return False
    return True


@contextmanager
def native_stderr_filtered() -> Iterator[None]:
    """Within the block, fd 2 goes to a temporary file; non-chatter lines are replayed after.

    A no-op with ``--verbose``. Safe to nest and to enter from several threads at once.
    """
    global _depth, _saved_fd, _capture
    if is_verbose() or not _fd2_usable():
        yield
        return
    with _lock:
        if _depth == 0:
            _flush()
            _capture = tempfile.TemporaryFile(mode="w+b", prefix="visiona-stderr-")  # noqa: SIM115
            _saved_fd = os.dup(2)
            os.dup2(_capture.fileno(), 2)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved_fd is not None and _capture is not None:
                _flush()
                os.dup2(_saved_fd, 2)
                os.close(_saved_fd)
                _capture.seek(0)
                kept = filter_noise(_capture.read().decode("utf-8", "replace"))
                _capture.close()
                _saved_fd, _capture = None, None
                if kept:
                    os.write(2, kept.encode())


def quiet_library_loggers() -> None:
    """Lower Python loggers that warn about nothing the user can act on (CLI start-up only).

    ``torch.utils.cpp_extension`` warns "No CUDA runtime is found" on import whenever a CUDA
    folder exists without a GPU. Not called on ``import visiona`` (no logging set-up on import).
    """
    import logging

    if not is_verbose():
        logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
