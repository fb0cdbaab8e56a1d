"""Time `visiona --help` against `python -c pass` in the same run (ratio and absolute times).

Usage: .venv/bin/python bench/cli_startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def median_seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    baseline = median_seconds([sys.executable, "-c", "pass"], args.runs)
    help_time = median_seconds([sys.executable, "-m", "visiona", "--help"], args.runs)
    torch_time = median_seconds([sys.executable, "-c", "import torch"], max(3, args.runs // 3))
    print(f"python -c pass        {baseline * 1000:7.0f} ms")
    print(
        f"visiona --help        {help_time * 1000:7.0f} ms  ({help_time / baseline:.1f}x bare python)"
    )
    print(f"python -c 'import torch' {torch_time * 1000:4.0f} ms  (what --help avoids)")
    print(f"target: visiona --help < 500 ms -> {'met' if help_time < 0.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
