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
