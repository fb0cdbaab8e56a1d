"""The progress bar evaluation shows while it runs a model over a data set."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


@contextmanager
def evaluation_progress(console: Console | None, total: int) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``: a Rich bar on a terminal, plain lines in a log, nothing without."""
    from rich.progress import TimeRemainingColumn

    from visiona.progress import progress_bar

    with progress_bar("evaluating", total, console, TimeRemainingColumn(), min_items=1) as progress:
        task = progress.add_task("evaluate", total=total)
        yield lambda count: progress.advance(task, count)
