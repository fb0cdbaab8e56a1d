"""``visiona serve`` refuses bad arguments with one line and exit 2, before starting anything."""

from __future__ import annotations

from tests_support import require_module

require_module("fastapi", "pip install -e '.[serve]'")


def test_url_sources_are_refused(cli):
    result = cli("serve", "https://example.com/model.safetensors")
    assert result.code == 2
    assert "is a URL" in result.err and "Traceback" not in result.err


def test_bad_limits_and_duplicate_names_are_usage_errors(cli):
    assert cli("serve", "test_classifier", "--max-batch", "0").code == 2
    assert cli("serve", "test_classifier", "--timeout", "0").code == 2
    duplicate = cli("serve", "a=test_classifier", "a=resnet18")
    assert duplicate.code == 2 and "NAME=SOURCE" in duplicate.err


def test_a_model_that_cannot_load_stops_the_start_with_one_line_each(cli, monkeypatch):
    import visiona.serve.server

    started = []
    monkeypatch.setattr(visiona.serve.server, "run", lambda *args: started.append(args))
    result = cli("serve", "nosuchmodel", "b=nosuchmodel2", "ok=test_classifier", "--random-init")
    assert result.code == 2 and not started
    problems = [line for line in result.err.splitlines() if line.startswith("error: model")]
    assert len(problems) == 2
    assert "'nosuchmodel'" in problems[0] and "'b'" in problems[1]
    assert "--keep-going" in result.err and "Traceback" not in result.err
    # --keep-going serves what loads and warns about the rest.
    going = cli("serve", "nosuchmodel", "ok=test_classifier", "--random-init", "--keep-going")
    assert going.code == 0 and len(started) == 1
    assert "warning: model 'nosuchmodel'" in going.err
    assert [m.name for m in started[0][0].state.manager.all()] == ["ok"]
