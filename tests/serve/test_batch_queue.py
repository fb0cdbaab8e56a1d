"""The batch queue on its own: batches form, options split them, a full queue refuses at once."""

from __future__ import annotations

import threading

import pytest

from visiona.serve.batching import BatchQueue, QueueFullError


def test_items_arriving_together_share_a_batch_and_keep_their_results():
    sizes: list[int] = []
    queue = BatchQueue(
        lambda payloads, options: [p * options.get("k", 1) for p in payloads],
        max_batch=4, max_wait_ms=200, on_batch=sizes.append,
    )  # fmt: skip
    items = [queue.submit(i) for i in range(4)] + [queue.submit(10, {"k": 3})]
    assert [item.future.result(5) for item in items] == [0, 1, 2, 3, 30]
    queue.close()
    assert sum(sizes) == 5 and max(sizes) > 1  # batched, and the k=3 item ran on its own
    assert 1 in sizes


def test_full_queue_raises_and_runner_errors_reach_every_request():
    gate = threading.Event()

    def runner(payloads, options):
        gate.wait(5)
        raise RuntimeError("boom")

    queue = BatchQueue(runner, max_batch=1, max_wait_ms=0, max_queue=1)
    first = queue.submit(1)  # taken by the worker, blocked on the gate
    for _ in range(50):  # wait until the worker holds it, so the queue is empty again
        if queue.depth == 0:
            break
        threading.Event().wait(0.01)
    second = queue.submit(2)
    with pytest.raises(QueueFullError):
        queue.submit(3)
    gate.set()
    for item in (first, second):
        with pytest.raises(RuntimeError, match="boom"):
            item.future.result(5)
    queue.close()


def test_cancelled_items_are_skipped():
    ran: list[int] = []
    gate = threading.Event()

    def runner(payloads, options):
        gate.wait(5)
        ran.extend(payloads)
        return list(payloads)

    queue = BatchQueue(runner, max_batch=1, max_wait_ms=0, max_queue=4)
    queue.submit(1)
    cancelled = queue.submit(2)
    assert cancelled.future.cancel()
    gate.set()
    queue.close()
    assert ran == [1]
