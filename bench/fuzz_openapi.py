"""Schema-based fuzzing of ``visiona serve`` with schemathesis: no request may get a 5xx.

A server is started as a real process on 127.0.0.1 (random-init ``test_classifier``, nothing
leaves the machine). Every operation in its ``/openapi.json`` (visiona's routes, KServe v2 and
TF-Serving REST) gets ``--examples`` positive and ``--examples`` negative generated requests
(wrong types, missing fields, odd bodies, every media type the document lists; inference and
metadata routes aimed at the served model), once without and once with the management token.
Prints one table row per operation and the totals by status class; exits 1 if any answer was a
5xx, or an error body that is neither visiona's ``{"error": {"code", "message"}}`` nor the
protocols' ``{"error": "message"}``.

    python bench/fuzz_openapi.py                  # the BENCHMARKS.md numbers (a few minutes)
    python bench/fuzz_openapi.py --examples 20    # quicker
"""

from __future__ import annotations

import argparse
import collections
import os
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "fuzz-token-0123456789"
# Operations that would change the served set mid-run: they are fuzzed, but a generated name
# never matches the model under test, so test_classifier keeps serving.
KEEP = "test_classifier"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "VISIONA_HOME": str(home),
           "VISIONA_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}  # fmt: skip
    log = open(home / "server.log", "w")  # noqa: SIM115 - the server writes to it until stopped
    process = subprocess.Popen(
        [sys.executable, "-m", "visiona", "serve", KEEP, "--random-init", "--port", str(port),
         "--token", TOKEN, "--max-body-mb", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
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


def fuzz(url: str, examples: int, token: str | None) -> tuple[collections.Counter, list[str]]:
    """Runs every operation ``examples`` times; returns status counts and problem lines."""
    import schemathesis

    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    counts: collections.Counter[int] = collections.Counter()
    problems: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        per_op = _fuzz_operation(operation, url, headers, examples, problems)
        label = f"{operation.method.upper()} {operation.path}"
        codes = ", ".join(f"{code}×{n}" for code, n in sorted(per_op.items()))
        print(f"| {'token' if token else 'no token'} | {label} | {sum(per_op.values())} | "
              f"{codes} |", flush=True)  # fmt: skip
        counts.update(per_op)
    return counts, problems


def _fuzz_operation(
    operation, url: str, headers: dict[str, str], examples: int, problems: list[str]
) -> collections.Counter[int]:
    """``examples`` generated requests for one operation; 5xx and non-schema errors noted."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    per_op: collections.Counter[int] = collections.Counter()
    # Reading and inference routes are aimed at the served model (version 1), so bodies and
    # options reach the decoders; DELETE and GET /v1/models/{name} keep random names.
    fixed = None
    aimed = operation.method.upper() == "POST" or operation.path.startswith("/v2/")
    if "{name}" in operation.path and (aimed or "/metadata" in operation.path):
        fixed = {"name": KEEP}
        if "{version}" in operation.path:
            fixed["version"] = "1"
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        try:
            strategy = operation.as_strategy(mode, path_parameters=fixed)
        except Exception as error:
            print(f"  ({operation.path} {mode.value}: no strategy: {error})", file=sys.stderr)
            continue

        @given(case=strategy)
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            if case.method.upper() == "DELETE" and (case.path_parameters or {}).get("name") == KEEP:
                return
            response = case.call(base_url=url, headers=headers, timeout=60)
            per_op[response.status_code] += 1
            if response.status_code >= 500:
                problems.append(f"{case.method} {case.formatted_path}: {response.status_code} "
                                f"{response.text[:200]}")  # fmt: skip
            elif response.status_code >= 400:
                try:
                    body = response.json()
                    error = body.get("error") if isinstance(body, dict) else None
                    # visiona's schema, or the protocol style {"error": "message"} that KServe v2
                    # and TF-Serving clients read (on /v2/... and for TF-Serving bodies).
                    ok = isinstance(error, str) or (
                        isinstance(error, dict) and error.get("code") == response.status_code
                    )
                except ValueError:
                    ok = False
                if not ok:
                    problems.append(f"{case.method} {case.formatted_path}: "
                                    f"{response.status_code} not the error schema: "
                                    f"{response.text[:200]}")  # fmt: skip

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                run()
            except Unsatisfiable:  # no negative request exists (an operation without inputs)
                continue
    return per_op


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="Requests per operation.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="visiona-fuzz-") as home:
        process, url = start_server(Path(home))
        try:
            print("| auth | operation | requests | statuses |")
            print("|---|---|---|---|")
            total: collections.Counter[int] = collections.Counter()
            problems: list[str] = []
            for token in (None, TOKEN):
                counts, found = fuzz(url, args.examples, token)
                total.update(counts)
                problems += found
            alive = httpx.get(f"{url}/v2/health/live", timeout=10).status_code == 200
        finally:
            process.terminate()
            process.wait(30)
        log = (Path(home) / "server.log").read_text(errors="replace").splitlines()
        errors = [line for line in log if "Error" in line and not line.startswith(" ")]
    classes = collections.Counter(f"{code // 100}xx" for code in total.elements())
    print(f"\nrequests: {sum(total.values())}; by class: {dict(sorted(classes.items()))}; "
          f"server live afterwards: {alive}")  # fmt: skip
    for line in problems[:50]:
        print("PROBLEM", line)
    for line in sorted(set(errors))[:20] if problems else []:
        print("SERVER LOG", line)
    return 1 if problems or not alive else 0


if __name__ == "__main__":
    sys.exit(main())
