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


def _visiona_lines() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    return [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip().startswith(("visiona ", "$ .venv/bin/visiona "))
    ]


def _resolve(root, words: list[str]):
    """The command a README line runs, and the words after its name."""
    command, rest = root, list(words)
    while rest and hasattr(command, "commands") and rest[0] in command.commands:
        command, rest = command.commands[rest.pop(0)], rest
    return command, rest


def test_readme_command_lines_use_current_options() -> None:
    """Every `visiona ...` line in the README names options that exist, in today's spelling."""
    import shlex

    import typer.main

    from visiona.cli.app import app

    root = typer.main.get_command(app)
    lines = _visiona_lines()
    assert len(lines) > 30
    for line in lines:
        code = re.split(r"\s+#(?=\s)", line, maxsplit=1)[0]
        words = shlex.split(code.removeprefix("$ .venv/bin/").removeprefix("visiona "))
        command, rest = _resolve(root, words)
        assert not hasattr(command, "commands"), f"{line!r}: not a command"
        visible = {
            flag
            for param in command.params
            if param.param_type_name == "option" and not param.hidden
            for flag in (*param.opts, *param.secondary_opts)
        }
        for word in rest:
            if word.startswith("-") and word != "-":
                flag = word.split("=", 1)[0]
                assert flag in visible, f"{line!r}: {flag} is not (or no longer) an option"


def test_readme_marks_examples_that_need_a_download() -> None:
    """A README command whose model is not shipped in a package says it needs a download."""
    import shlex

    from visiona.errors import VisionaError
    from visiona.models.catalog import get_spec

    for line in _visiona_lines():
        code, comment = [*re.split(r"\s+#(?=\s)", line, maxsplit=1), ""][:2]
        if "--random-init" in code:
            continue
        words = shlex.split(code.removeprefix("$ .venv/bin/"))
        names = [words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-m", "--model")]
        if words[1:3] in (["weights", "pull"], ["benchmark", words[2]], ["export", words[2]]):
            names.append(words[2] if words[1] != "weights" else words[3])
        for name in names:
            try:
                spec, tag = get_spec(name)
                urls = spec.weights_for(tag).urls if spec.weights else ()
            except VisionaError:
                continue  # a checkpoint, an .onnx file or a perception backend: local
            if urls and all(u.startswith(("http", "hf://")) for u in urls):
                assert "download" in comment, f"{line!r}: mark that {name} needs a download"
