"""``visiona benchmark MODEL``: throughput, latency, memory and FLOP/s use per backend and batch.

For each backend and batch size the model runs on a fixed random batch (model only: no decoding)
for a few seconds after a warm-up; reported are images/s, batch latency p50/p95, the process's
peak resident memory during the run, and the fraction of the CPU's peak fp32 FLOP/s that the
model's arithmetic reaches. The peak is measured on the spot by a short probe (a large fp32
matrix product in PyTorch and in ONNX Runtime, the faster counts), and the model's GFLOPs per
image are counted by PyTorch's FLOP counter (one multiply-add = 2 FLOPs).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from visiona.errors import UsageError

if TYPE_CHECKING:
    from visiona.models.load import LoadedModel

PROBE_SIZE = 1024


@dataclass(frozen=True)
class BenchmarkRow:
    """One backend × batch size."""

    backend: str
    batch_size: int
    images_per_s: float
    latency_p50_ms: float
    latency_p95_ms: float
    peak_memory_mib: float
    fraction_of_peak: float | None
    runs: int
    setup_s: float


@dataclass(frozen=True)
class BenchmarkReport:
    """The whole benchmark, as printed and written to JSON."""

    model: str
    task: str
    input_size: tuple[int, int]
    gflops_per_image: float | None
    peak_gflops: float | None
    threads: int
    rows: tuple[BenchmarkRow, ...]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rows"] = [asdict(row) for row in self.rows]
        return data


def measure_peak_gflops(seconds: float = 0.5, threads: int | None = None) -> float:
    """fp32 GFLOP/s of a ``1024³`` matrix product, the best of PyTorch and ONNX Runtime.

    A large GEMM is the most efficient thing a CPU does in fp32, so it stands for the machine's
    attainable peak (on a shared machine it measures what is available now).
    """
    import torch

    from visiona.engine.predict.onnx_backend import available_cores

    threads = threads or available_cores()
    n = PROBE_SIZE
    a, b = torch.randn(n, n), torch.randn(n, n)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        best = _best_rate(lambda: torch.mm(a, b), 2 * n**3, seconds)
    finally:
        torch.set_num_threads(previous)
    try:
        session = _matmul_session(n, threads)
    except Exception:  # ONNX Runtime missing: PyTorch's figure alone
        return best
    feeds = {"a": a.numpy(), "b": b.numpy()}
    return max(best, _best_rate(lambda: session.run(None, feeds), 2 * n**3, seconds))


def _best_rate(step: Callable[[], Any], flops: float, seconds: float) -> float:
    step()
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - start)
    return flops / best / 1e9


def _matmul_session(n: int, threads: int) -> Any:
    import onnx
    from onnx import TensorProto, helper

    from visiona.engine.predict.onnx_backend import session_for

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])],
        "probe",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [n, n]),
        ],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, 9)
    onnx.checker.check_model(model)
    return session_for(model.SerializeToString(), threads, spin=True)


def count_gflops(model: LoadedModel) -> float | None:
    """GFLOPs of one forward pass on one image at the record's input size (PyTorch models)."""
    import torch
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    from visiona.tasks.base import get_task

    module = model.module
    if not isinstance(module, nn.Module):  # an ONNX file: count on the same architecture
        from visiona.models.catalog import get_spec

        try:
            spec, _ = get_spec(model.architecture)
            module = spec.build(model.weights.num_classes, None, **model.arch_options)
        except Exception:  # an architecture this install cannot build
            return None
    height, width = model.weights.preprocessing.input_size
    image = torch.rand(3, height, width)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        task = get_task(model.task)
        if task.batched_input or getattr(task, "spatial_output", False):
            module.eval()(image[None])
        else:
            module.eval()([image])
    return counter.get_total_flops() / 1e9


class _PeakMemory:
    """Samples the process's resident memory in a thread; ``peak_mib`` after the block."""

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.peak_mib = 0.0
        self._stop = threading.Event()

    @staticmethod
    def _rss_mib() -> float:
        try:
            with open("/proc/self/statm") as handle:
                pages = int(handle.read().split()[1])
            import os

            return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
        except (OSError, ValueError, IndexError):
            import resource

            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak_mib = max(self.peak_mib, self._rss_mib())
            self._stop.wait(self.interval)

    def __enter__(self) -> _PeakMemory:
        self.peak_mib = self._rss_mib()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mib = max(self.peak_mib, self._rss_mib())


def _inputs(model: LoadedModel, backend: Any, batch_size: int) -> Any:
    import torch

    from visiona.ops.preprocess import normalize
    from visiona.tasks.base import get_task

    height, width = model.weights.preprocessing.input_size
    generator = torch.Generator().manual_seed(0)
    pixels = torch.randint(
        0, 256, (batch_size, 3, height, width), dtype=torch.uint8, generator=generator
    )
    if not backend.takes_pixels:
        pixels = normalize(pixels, model.weights.preprocessing)
    task = get_task(model.task)
    batched = task.batched_input or getattr(task, "spatial_output", False)  # dense: one tensor
    return pixels if batched else list(pixels)


def benchmark(
    model: LoadedModel,
    *,
    backends: Sequence[str] = ("torch", "onnx"),
    batch_sizes: Sequence[int] = (1, 16),
    seconds: float = 3.0,
    warmup: int = 2,
    min_runs: int = 3,
    threads: int | None = None,
    probe: bool = True,
    progress: Callable[[str], None] | None = None,
) -> BenchmarkReport:
    """Time ``model`` on each backend and batch size.

    Args:
        model: A loaded PyTorch model (or an ONNX/TFLite file, for its own backend only).
        backends: Backend names (``torch``, ``compiled``, ``onnx``, ``tflite``).
        batch_sizes: Images per forward pass.
        seconds: Timed duration per configuration (after the warm-up).
        warmup: Untimed runs first (``compiled`` compiles during these).
        min_runs: At least this many timed runs, however long they take.
        threads: Threads for PyTorch and ONNX Runtime (default: the cores available).
        probe: Measure the CPU's peak FLOP/s and count the model's GFLOPs.
        progress: Called with a line before each configuration.

    Raises:
        UsageError: Empty backend or batch lists, a batch size below 1.
    """
    import torch

    from visiona.engine.predict.backends import make_backend
    from visiona.engine.predict.onnx_backend import available_cores

    if not backends or not batch_sizes or min(batch_sizes) < 1:
        raise UsageError("give at least one backend and batch sizes of at least 1")
    threads = threads or available_cores()
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        gflops = count_gflops(model) if probe else None
        peak = measure_peak_gflops(threads=threads) if probe else None
        rows = []
        for name in backends:
            start = time.perf_counter()
            if progress:
                progress(f"preparing backend {name}")
            backend = _make(make_backend, name, model, threads)
            setup = time.perf_counter() - start
            for batch_size in batch_sizes:
                if progress:
                    progress(f"{name}, batch {batch_size}")
                timing = (seconds, warmup, min_runs)
                rows.append(
                    _time_one(model, backend, name, batch_size, timing, gflops, peak, setup)
                )
    finally:
        torch.set_num_threads(previous)
    height, width = model.weights.preprocessing.input_size
    return BenchmarkReport(
        model=model.source,
        task=model.task,
        input_size=(height, width),
        gflops_per_image=gflops,
        peak_gflops=peak,
        threads=threads,
        rows=tuple(rows),
    )


def _make(make_backend: Callable[..., Any], name: str, model: LoadedModel, threads: int) -> Any:
    if name == "onnx":
        from visiona.engine.predict.onnx_backend import OnnxBackend

        return OnnxBackend(model, "cpu", threads=threads)
    if name == "tflite":
        from visiona.engine.predict.tflite_backend import TfliteBackend

        return TfliteBackend(model, "cpu", threads=threads)
    return make_backend(name, model, "cpu")


def _time_one(
    model: LoadedModel,
    backend: Any,
    name: str,
    batch_size: int,
    timing: tuple[float, int, int],
    gflops: float | None,
    peak: float | None,
    setup: float,
) -> BenchmarkRow:
    seconds, warmup, min_runs = timing
    inputs = _inputs(model, backend, batch_size)
    with _PeakMemory() as memory:
        start = time.perf_counter()
        for _ in range(warmup):
            backend(inputs)
        setup += time.perf_counter() - start
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds
        while len(latencies) < min_runs or time.perf_counter() < deadline:
            start = time.perf_counter()
            backend(inputs)
            latencies.append(time.perf_counter() - start)
    total = sum(latencies)
    rate = batch_size * len(latencies) / total
    fraction = rate * gflops / peak if gflops and peak else None
    return BenchmarkRow(
        backend=name,
        batch_size=batch_size,
        images_per_s=rate,
        latency_p50_ms=float(np.percentile(latencies, 50) * 1000),
        latency_p95_ms=float(np.percentile(latencies, 95) * 1000),
        peak_memory_mib=memory.peak_mib,
        fraction_of_peak=fraction,
        runs=len(latencies),
        setup_s=setup,
    )
