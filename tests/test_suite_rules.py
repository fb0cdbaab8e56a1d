"""The test suite's own rules: a missing install fails under CI, and no process it starts can
reach the network (every subprocess gets the offline environment and the socket guard)."""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests_support import NET_GUARD, TESTS, subprocess_env

NEEDS_MISSING = """
import pytest
from tests_support import require_module

def test_function_level():
    require_module("visiona_no_such_module_x")

@pytest.mark.requires(modules=("visiona_no_such_module_y",))
def test_marker():
    pass
"""
MODULE_LEVEL = """
from tests_support import require_module

require_module("visiona_no_such_module_z")

def test_never_runs():
    pass
"""
CONFTEST = """
from tests_support import requirement_setup as pytest_runtest_setup  # noqa: F401

def pytest_configure(config):
    config.addinivalue_line("markers", "requires: see tests/conftest.py")
"""


def _pytest(folder: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    env = subprocess_env()
    env.pop("CI", None)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env["PYTHONPATH"]])
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(folder)],
        capture_output=True, text=True, timeout=120, env=env, cwd=folder,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("source", "names", "ci_summary"),
    [
        # In a test (fails) and as a marker (the setup hook errors): both red.
        (NEEDS_MISSING, "xy", ("1 failed", "1 error")),
        # At module level: a collection error, which stops the whole run.
        (MODULE_LEVEL, "z", ("1 error",)),
    ],
    ids=["test-and-marker", "module-level"],
)
def test_a_missing_package_skips_locally_and_fails_under_ci(
    tmp_path: Path, source: str, names: str, ci_summary: tuple[str, ...]
) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_needs.py").write_text(source)
    (tmp_path / "test_fine.py").write_text("def test_fine():\n    pass\n")

    for value in (None, "false"):
        local = _pytest(tmp_path, ci=value)
        assert local.returncode == 0, local.stdout + local.stderr
        assert f"1 passed, {len(names)} skipped" in local.stdout, local.stdout
        for name in names:  # the reason names what is missing
            assert f"visiona_no_such_module_{name}" in local.stdout, local.stdout

    for value in ("true", "1"):
        ci = _pytest(tmp_path, ci=value)
        assert ci.returncode != 0, ci.stdout + ci.stderr
        summary = ci.stdout.strip().splitlines()[-1]
        assert "skipped" not in summary and all(part in summary for part in ci_summary), summary
        for name in names:
            assert f"visiona_no_such_module_{name}" in ci.stdout, ci.stdout
        assert "CI is set and" in ci.stdout and "an install step is broken" in ci.stdout


GUARD_PROBE = """
import os, socket, sys
# Never try a real address without the guard: stop here if it did not load.
if not getattr(socket, "_visiona_net_guard", False):
    sys.exit("guard not installed")
for attempt in (lambda: socket.create_connection(("10.255.255.1", 9), timeout=5),
                lambda: socket.socket().connect(("10.255.255.1", 9)),
                lambda: socket.socket().connect_ex(("10.255.255.1", 9)),
                lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("10.255.255.1", 9)),
                lambda: socket.getaddrinfo("example.com", 80),
                lambda: socket.gethostbyname("example.com")):
    try:
        attempt()
    except OSError as error:
        print("refused:", type(error).__name__, error)
    else:
        sys.exit("not refused")
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5):
    print("loopback ok")
print("HF_HUB_OFFLINE=" + os.environ.get("HF_HUB_OFFLINE", ""))
print("VISIONA_OFFLINE" in os.environ, "HF_ENDPOINT" in os.environ)
"""


def test_a_subprocess_is_offline_and_cannot_reach_the_network(monkeypatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://10.255.255.1:9")  # must not leak into children
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-c", GUARD_PROBE, str(port)],
            capture_output=True, text=True, timeout=60, env=subprocess_env(),
        )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    blocked = "network blocked in tests"
    assert lines[0] == f"refused: gaierror [Errno -2] {blocked}: name lookup of 10.255.255.1"
    assert lines[1:4] == [f"refused: ConnectionRefusedError {blocked}: ('10.255.255.1', 9)"] * 3
    assert lines[4:6] == [f"refused: gaierror [Errno -2] {blocked}: name lookup of example.com"] * 2
    assert lines[6:] == ["loopback ok", "HF_HUB_OFFLINE=1", "False False"]


def test_a_spawned_worker_is_guarded_too() -> None:
    """A child started without subprocess_env (multiprocessing's spawn) inherits the session's
    environment, which carries the guard on PYTHONPATH and the offline flag."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    probe = "(getattr(__import__('socket'), '_visiona_net_guard', False), __import__('os').environ.get('HF_HUB_OFFLINE'))"
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        assert pool.submit(eval, probe).result(timeout=60) == (True, "1")


def test_this_process_is_guarded_too() -> None:
    with (
        socket.socket() as sock,
        pytest.raises(ConnectionRefusedError, match="network blocked in tests"),
    ):
        sock.connect(("10.255.255.1", 9))
    with pytest.raises(socket.gaierror, match=r"name lookup of example\.com"):
        socket.getaddrinfo("example.com", 443)


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id == "subprocess":
                yield node


def test_every_subprocess_a_test_starts_gets_the_offline_environment() -> None:
    """Each ``subprocess.run/Popen/...`` in tests/ passes ``env=`` built by ``subprocess_env``."""
    launchers = {"run", "Popen", "call", "check_call", "check_output"}
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        if NET_GUARD in path.parents:
            continue
        source = path.read_text()
        for call in _calls(ast.parse(source)):
            if call.func.attr not in launchers:
                continue
            env = next((k.value for k in call.keywords if k.arg == "env"), None)
            ok = env is not None and "subprocess_env" in source
            if isinstance(env, ast.Call):
                ok = isinstance(env.func, ast.Name) and env.func.id == "subprocess_env"
            if not ok:
                offenders.append(f"{path.relative_to(TESTS)}:{call.lineno}")
    assert offenders == [], "start processes with env=subprocess_env(...)"


def test_missing_installs_go_through_tests_support() -> None:
    """``pytest.importorskip`` or a hand-written 'not installed' skip would stay green in CI."""
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.name == "tests_support.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            texts = [
                n.value
                for n in ast.walk(node)
                if isinstance(n, ast.Constant) and isinstance(n.value, str)
            ]
            name = node.func.attr
            if name == "importorskip" or (
                name in ("skip", "skipif", "xfail") and any("install" in t for t in texts)
            ):
                offenders.append(f"{path.relative_to(TESTS)}:{node.lineno}")
    assert offenders == [], "use tests_support.require_module / require_browser / missing"


def test_guard_folder_holds_only_the_guard() -> None:
    # Anything else on a child's PYTHONPATH there would shadow real modules.
    assert sorted(p.name for p in NET_GUARD.glob("*.py")) == ["sitecustomize.py"]
