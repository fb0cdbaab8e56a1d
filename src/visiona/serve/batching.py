"""Micro-batching per model: a bounded queue drained by one worker thread.

Requests put preprocessed items on the queue from the event loop; the worker gathers up to
``max_batch`` items (waiting at most ``max_wait_ms`` after the first one), runs one forward pass
per group of identical task options, and resolves each request's future. Inference therefore
never blocks the event loop, and a full queue is refused at once (the app answers 429).
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BatchQueue", "QueueFullError", "WorkItem"]


class QueueFullError(Exception):
    """The model's queue holds ``max_queue`` items already."""


@dataclass
class WorkItem:
    """One image waiting for inference.

    Attributes:
        payload: What the runner needs (e.g. ``(LoadedImage, (3, H, W) tensor, ImageMeta)``).
        options: Task options (``top_k``, ``conf``...); items are batched with equal options.
        future: Resolved with the item's result, or with the exception that stopped it.
    """

    payload: Any
    options: tuple[tuple[str, Any], ...] = ()
    future: concurrent.futures.Future[Any] = field(default_factory=concurrent.futures.Future)


Runner = Callable[[Sequence[Any], dict[str, Any]], list[Any]]
"""Runs one batch: payloads and shared options → one result per payload, in order."""


class BatchQueue:
    """A bounded queue with a worker thread that runs batches.

    Args:
        runner: Batch function (payloads, options) → results.
        max_batch: Largest batch; 1 turns batching off.
        max_wait_ms: How long the worker waits for more items after the first one.
        max_queue: Items allowed to wait; one more raises :class:`QueueFullError`.
        on_batch: Called with each batch's size (metrics).
        name: Thread name suffix.
    """

    def __init__(
        self,
        runner: Runner,
        *,
        max_batch: int = 8,
        max_wait_ms: float = 5.0,
        max_queue: int = 64,
        on_batch: Callable[[int], None] | None = None,
        name: str = "model",
    ) -> None:
        if max_batch < 1 or max_queue < 1 or max_wait_ms < 0:
            raise ValueError("max_batch and max_queue must be >= 1 and max_wait_ms >= 0")
        self.runner = runner
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self._queue: queue.Queue[WorkItem | None] = queue.Queue(maxsize=max_queue)
        self._on_batch = on_batch
        self._thread = threading.Thread(target=self._work, name=f"batch-{name}", daemon=True)
        self._thread.start()

    @property
    def depth(self) -> int:
        """Items waiting now."""
        return self._queue.qsize()

    def submit(self, payload: Any, options: dict[str, Any] | None = None) -> WorkItem:
        """Queue one item; raises :class:`QueueFullError` at once when the queue is full."""
        item = WorkItem(payload, tuple(sorted((options or {}).items())))
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            raise QueueFullError from None
        return item

    def close(self, timeout: float = 30.0) -> None:
        """Finish the queued items, then stop the worker."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _gather(self, first: WorkItem) -> tuple[list[WorkItem], bool]:
        batch = [first]
        deadline = time.monotonic() + self.max_wait
        while len(batch) < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                item = (
                    self._queue.get(timeout=max(remaining, 0))
                    if remaining > 0
                    else (self._queue.get_nowait())
                )
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _work(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                break
            batch, stop = self._gather(first)
            # A request that timed out or went away cancelled its future: skip its work.
            live = [item for item in batch if item.future.set_running_or_notify_cancel()]
            groups: dict[tuple[tuple[str, Any], ...], list[WorkItem]] = {}
            for item in live:
                groups.setdefault(item.options, []).append(item)
            for options, items in groups.items():
                self._run(items, dict(options))

    def _run(self, items: list[WorkItem], options: dict[str, Any]) -> None:
        if self._on_batch is not None:
            self._on_batch(len(items))
        try:
            results = self.runner([item.payload for item in items], options)
        except Exception as error:  # reported to every request of the batch
            for item in items:
                item.future.set_exception(error)
            return
        for item, result in zip(items, results, strict=True):
            item.future.set_result(result)
