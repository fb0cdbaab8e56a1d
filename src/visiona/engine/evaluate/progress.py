"""The progress bar evaluation shows while it runs a model over a data set."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


@contextmanager
def evaluation_progress(
    console: Console | None, total: int, label: str = "evaluating"
) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)`` for a Rich bar on ``console`` (off without a console or terminal)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=console is None or not console.is_terminal,
    ) as progress:
        task = progress.add_task("evaluate", total=total)
        yield lambda count: progress.advance(task, count)
