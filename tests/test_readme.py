"""The README's Python example runs as written (in a temporary folder)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path, monkeypatch, capsys) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no Python example"
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, str(README), "exec"), {"__name__": "readme"})
    # What the README's comment promises is printed: the cat photo labelled "Egyptian cat".
    printed = capsys.readouterr().out.splitlines()
    promised = re.search(r"print\(.*\)\s+# (\S+) (.+) (\d\.\d+)\n", README.read_text())
    assert promised, "the README's print() line lost its example output comment"
    source, label, probability = promised.groups()
    line = next(x for x in printed if x.startswith(source + " "))
    assert line.removeprefix(source + " ").rsplit(" ", 1)[0] == label
    assert abs(float(line.rsplit(" ", 1)[1]) - float(probability)) <= 0.05
    assert any(x.startswith("photos/coffee.jpg ") for x in printed)
    # The overlay it saves is the photo with the label drawn on it.
    with Image.open(tmp_path / "chelsea_labelled.png") as overlay, Image.open(source) as photo:
        assert overlay.size == photo.size
        changed = np.any(np.asarray(overlay.convert("RGB")) != np.asarray(photo.convert("RGB")), 2)
    assert 0.001 < changed.mean() < 0.5  # a label drawn over part of the photo
