"""Errors a user can act on.

Every mistake a user can make (a missing file, an unknown model name, weights that are not available
offline) raises a :class:`VisionaError`. The CLI prints it as one ``error:`` line plus optional hint
lines and exits with :attr:`VisionaError.exit_code`; the server (later) maps it to a 4xx answer.
Anything else escaping is a bug in visiona and keeps its traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit codes of every ``visiona`` command (the table in README.md "Exit codes").

    Each error class carries its code as :attr:`VisionaError.exit_code`; commands that finish
    with some inputs failed exit with :attr:`INPUTS_FAILED` themselves.
    """

    OK = 0
    """Everything asked for was done."""
    INPUTS_FAILED = 1
    """Some inputs failed (each reported on one line), a check said no, or another error."""
    USAGE = 2
    """Bad usage: unknown option, model, task or other name; missing path; bad value."""
    NOT_AVAILABLE_OFFLINE = 3
    """Weights (or a packaged data set) are not on this machine and cannot be fetched."""
    INTERRUPTED = 130
    """Ctrl-C (SIGINT): stopped cleanly, what was finished is kept."""


class VisionaError(Exception):
    """Base class for errors caused by user input or the environment, not by a bug.

    Args:
        message: One line saying what went wrong and where.
        hint: Optional extra lines (how to fix it), each printed indented under the message.
    """

    exit_code: int = ExitCode.INPUTS_FAILED

    def __init__(self, message: str, hint: str | list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is None:
            self.hints: list[str] = []
        elif isinstance(hint, str):
            self.hints = [hint]
        else:
            self.hints = list(hint)

    def __str__(self) -> str:
        return "\n".join([self.message, *(f"  {line}" for line in self.hints)])


class UsageError(VisionaError):
    """The command was asked for something that cannot exist (exit code 2, like a bad option)."""

    exit_code = ExitCode.USAGE


class UnknownNameError(UsageError):
    """A model, task or other registry name that is not known."""


class InputNotFoundError(UsageError):
    """A path, folder or glob given as input does not exist or holds no images."""


class ImageLoadError(VisionaError):
    """One input could not be read as an image; batch runs report it and go on.

    Args:
        source: The file name (or description) of the input that failed.
        reason: What is wrong with it, e.g. ``"truncated or corrupt image"``.
        hint: How to fix it.
    """

    def __init__(self, source: str, reason: str, hint: str | None = None) -> None:
        self.source = source
        self.reason = reason
        message = f"{source}: {reason}" + (f" ({hint})" if hint else "")
        super().__init__(message)


class WeightsError(VisionaError):
    """Weights are missing, corrupt, or could not be downloaded."""


class WeightsUnavailableError(WeightsError):
    """Weights are not on disk and cannot be fetched (offline, 404, ...): exit code 3."""

    exit_code = ExitCode.NOT_AVAILABLE_OFFLINE


class ChecksumError(WeightsError):
    """A weights file does not match its recorded sha256."""


class MissingDependencyError(VisionaError):
    """An optional dependency is not installed; the message names the extra to install."""
