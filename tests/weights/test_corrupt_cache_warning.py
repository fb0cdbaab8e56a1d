"""A cached weights file that fails its sha256 is skipped, and the user is told once."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from visiona.models.catalog import get_spec
from visiona.weights.resolve import CorruptCacheWarning, cache_path, resolve_weights


def _corrupt_cache():
    spec, _ = get_spec("efficientnet_lite0")
    record = spec.weights_for(None)
    cached = cache_path(record)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(b"damaged or replaced")
    return record, cached


def test_packaged_copy_replaces_a_corrupt_cache_with_one_warning() -> None:
    record, cached = _corrupt_cache()
    with pytest.warns(CorruptCacheWarning, match="fail their sha256 check") as caught:
        resolved = resolve_weights(record)
    assert resolved.origin == "package" and resolved.path != cached
    assert str(cached) in str(caught[0].message) and "visiona weights pull" in str(
        caught[0].message
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second resolve stays quiet
        assert resolve_weights(record).origin == "package"
    assert cached.read_bytes() == b"damaged or replaced"  # the user's file is not touched


def test_cli_prints_it_as_one_warning_line(capsys, tmp_path) -> None:
    from visiona.cli.app import main

    _, cached = _corrupt_cache()
    image = tmp_path / "a.png"
    Image.fromarray(np.full((40, 40, 3), 120, np.uint8)).save(image)
    with pytest.raises(SystemExit) as exit_:
        main(["predict", "classify", str(image), "-m", "efficientnet_lite0", "--json"])
    assert exit_.value.code in (0, None)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(lines) == 1 and str(cached) in lines[0] and "sha256" in lines[0], err
