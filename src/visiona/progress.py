"""Progress that suits where the output goes: a Rich bar on a terminal, plain lines otherwise.

Logs and pipes (CI, ``make demo > log``, ``nohup``) get ``label: 30/100`` lines about every
10 % instead of nothing (a Rich bar is invisible there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


class PlainProgress:
    """Progress as plain lines (``predicting: 30/100``) for logs and pipes.

    A line about every 10 % (at least every 10 items apart) and always the final count.

    Has the part of :class:`rich.progress.Progress` the CLI uses (``add_task``, ``advance``,
    context manager), so commands do not care which one they got.
    """

    def __init__(self, label: str, console: Console, steps: int = 10) -> None:
        self.label, self.console, self.steps = label, console, steps
        self._done: dict[int, int] = {}
        self._total: dict[int, int] = {}
        self._shown: dict[int, int] = {}

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: int | None = None) -> int:
        task = len(self._total)
        self._total[task], self._done[task], self._shown[task] = total or 0, 0, 0
        return task

    def advance(self, task: int, advance: int = 1) -> None:
        self._done[task] += advance
        done, total = self._done[task], self._total[task]
        step = max(10, -(-total // self.steps))  # short runs: only the final line
        if done == total or done - self._shown[task] >= step:
            self._shown[task] = done
            self.console.print(f"{self.label}: {done}/{total}", markup=False, highlight=False)


def progress_bar(
    label: str, total: int, console: Console | None, *extra_columns: Any, min_items: int = 2
) -> Any:
    """A Rich bar on a terminal, plain lines otherwise; nothing below ``min_items`` items.

    Args:
        label: Shown before the bar or the counts (``"predicting"``).
        total: Number of steps.
        console: Where to draw; ``None`` shows nothing.
        *extra_columns: More Rich columns after the count (e.g. ``TimeRemainingColumn()``).
        min_items: Fewer steps than this show nothing.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    if console is None or console.is_terminal or total < min_items:
        return Progress(
            TextColumn(label), BarColumn(), MofNCompleteColumn(), *extra_columns,
            console=console, transient=True, disable=console is None or total < min_items,
        )  # fmt: skip
    return PlainProgress(label, console)
