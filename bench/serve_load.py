"""Load benchmark for ``visiona serve``: fixed concurrency for a fixed time, batching on vs off.

For each server set-up (micro-batching on: ``--max-batch 8``; off: ``--max-batch 1``) a server is
started as a real process, then each concurrency level (default 1, 8, 32) runs closed-loop
clients for ``--duration`` seconds. Reports throughput, p50/p95/p99 latency of successful
requests, reject rate (429/504) and the server's RSS before/after. ``--soak S`` adds a run of S
seconds at concurrency 8 on the batching server and reports its RSS growth.

    python bench/serve_load.py                     # the BENCHMARKS.md table (about 4 minutes)
    python bench/serve_load.py --url http://127.0.0.1:8000 --model NAME --pid PID
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def rss_mb(pid: int | None) -> float | None:
    """Resident set size of ``pid`` in MB (Linux ``/proc``), or None."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def make_images(count: int = 16) -> list[bytes]:
    images = []
    for i in range(count):
        buffer = io.BytesIO()
        image = Image.new("RGB", (320, 240), (i * 15 % 256, 100, 200 - i * 10 % 200))
        image.save(buffer, format="JPEG", quality=90)
        images.append(buffer.getvalue())
    return images


async def run_level(url: str, model: str, concurrency: int, duration: float) -> dict[str, float]:
    """Closed loop: ``concurrency`` clients send one request each as soon as the last returns."""
    images = make_images()
    latencies: list[float] = []
    codes: dict[int, int] = {}
    deadline = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=concurrency + 4)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def worker(index: int) -> None:
            n = index
            while time.perf_counter() < deadline:
                files = {"image": (f"{n}.jpg", images[n % len(images)])}
                start = time.perf_counter()
                try:
                    response = await client.post(f"/v1/models/{model}:predict", files=files)
                    code = response.status_code
                except httpx.TransportError:
                    code = 0
                elapsed = time.perf_counter() - start
                codes[code] = codes.get(code, 0) + 1
                if code == 200:
                    latencies.append(elapsed)
                elif code == 429:
                    await asyncio.sleep(0.05)
                n += concurrency

        begin = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        wall = time.perf_counter() - begin
    total = sum(codes.values())
    ok = codes.get(200, 0)
    qs = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [float("nan")] * 99
    return {
        "concurrency": concurrency,
        "requests": total,
        "throughput": ok / wall,
        "p50_ms": qs[49] * 1000,
        "p95_ms": qs[94] * 1000,
        "p99_ms": qs[98] * 1000,
        "reject_rate": (total - ok) / total if total else 0.0,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(model: str, extra: list[str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    process = subprocess.Popen(
        [sys.executable, "-m", "visiona", "serve", model, "--port", str(port), *extra],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not become ready")


def report(label: str, row: dict[str, float], before: float | None, after: float | None) -> None:
    rss = f"{before:.0f} → {after:.0f} MB" if before and after else "n/a"
    print(
        f"| {label} | {row['concurrency']} | {row['requests']} | {row['throughput']:.1f} | "
        f"{row['p50_ms']:.0f} | {row['p95_ms']:.0f} | {row['p99_ms']:.0f} | "
        f"{row['reject_rate'] * 100:.1f}% | {rss} |",
        flush=True,
    )


def bench(url: str, model: str, pid: int | None, label: str, levels: list[int], duration: float):
    asyncio.run(run_level(url, model, 2, 2.0))  # warm-up
    for level in levels:
        before = rss_mb(pid)
        row = asyncio.run(run_level(url, model, level, duration))
        report(label, row, before, rss_mb(pid))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="A running server (otherwise servers are started here).")
    parser.add_argument("--pid", type=int, help="The running server's PID, for RSS.")
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--duration", type=float, default=30.0, help="Seconds per level.")
    parser.add_argument("--concurrency", default="1,8,32", help="Comma-separated levels.")
    parser.add_argument("--soak", type=float, default=60.0, help="Soak seconds (0: none).")
    parser.add_argument("--max-wait-ms", default="10")
    parser.add_argument("--random-init", action="store_true", help="Serve random weights.")
    args = parser.parse_args()
    levels = [int(v) for v in args.concurrency.split(",")]
    print(
        "| batching | concurrency | requests | req/s | p50 ms | p95 ms | p99 ms | rejected "
        "| server RSS before → after |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    if args.url:
        bench(args.url, args.model, args.pid, "(given server)", levels, args.duration)
        return
    for label, batch in (("on (max 8)", "8"), ("off", "1")):
        extra = ["--max-batch", batch, "--max-wait-ms", args.max_wait_ms, "--max-queue", "256"]
        extra += ["--random-init"] if args.random_init else []
        process, url = start_server(args.model, extra)
        try:
            bench(url, args.model, process.pid, label, levels, args.duration)
            if args.soak and batch != "1":
                before = rss_mb(process.pid)
                row = asyncio.run(run_level(url, args.model, 8, args.soak))
                after = rss_mb(process.pid)
                report(f"soak {args.soak:.0f} s, on", row, before, after)
                if before and after:
                    print(f"soak RSS growth: {after - before:+.1f} MB", flush=True)
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(60)
            print(f"server ({label}) exited {code} after SIGTERM", flush=True)


if __name__ == "__main__":
    main()
