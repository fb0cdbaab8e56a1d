"""Every command follows the CLI conventions (ARCHITECTURE.md, "CLI conventions"): walk the click tree."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main
from PIL import Image

from visiona.cli.app import app
from visiona.cli.conventions import (
    DEPRECATED_HELP,
    fresh_path,
    model_argument,
    split_ints,
    split_list,
)
from visiona.cli.output import OutputNamer
from visiona.errors import ExitCode, UsageError, VisionaError, WeightsUnavailableError

ROOT = Path(__file__).resolve().parents[2]

SHORT_FLAGS = {"-m": "--model", "-b": "--batch-size", "-d": "--data", "-o": "--output"}
"""A short flag means the same long option in every command."""

BANNED = {"--out", "--plot", "--detector", "--complexity"}
"""Old spellings: only allowed as hidden deprecated aliases."""

NOT_REPORTING = {("serve",)}
"""Commands that report nothing a script would parse (a long-running server)."""

NO_MODEL = {("data",), ("weights",), ("serve",), ("report",)}
"""Command groups whose commands choose no model (weights are named by NAME; a report, by RUN)."""


def _commands(group, path: tuple[str, ...] = ()):
    # Typer ships its own copy of click (typer._click): duck-type groups and options.
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


ROOT_COMMAND = typer.main.get_command(app)
COMMANDS = list(_commands(ROOT_COMMAND))
IDS = [" ".join(path) for path, _ in COMMANDS]


def _options(command) -> list:
    return [p for p in command.params if p.param_type_name == "option"]


def _deprecated(option) -> bool:
    return option.hidden and (option.help or "").startswith(DEPRECATED_HELP.split("{")[0])


def test_the_walk_sees_every_command() -> None:
    names = set(IDS)
    assert {"predict classify", "predict pose", "faces enroll", "train detect", "export"} <= names
    assert {"data check", "weights list", "evaluate detect", "benchmark", "serve"} <= names
    assert len(COMMANDS) >= 30


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_option_names_follow_the_convention(path, command) -> None:
    for option in _options(command):
        flags = [*option.opts, *option.secondary_opts]
        if option.hidden:
            assert _deprecated(option), f"hidden {flags} must be a documented deprecated alias"
            continue
        assert not BANNED & set(flags), f"{flags}: use -o/--output, --save or -m/--model"
        for short, long in SHORT_FLAGS.items():
            if short in flags:
                assert long in flags, f"{short} means {long} everywhere, not {flags}"
            if long in flags:
                assert short in flags, f"{long} has the short flag {short}"
        if "--backend" in flags:
            text = (option.help or "").lower()
            assert "torch" in text or "onnx" in text, "--backend names the runtime only"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_reporting_commands_have_json(path, command) -> None:
    if path in NOT_REPORTING:
        return
    flags = {flag for option in _options(command) for flag in option.opts}
    assert "--json" in flags, f"visiona {' '.join(path)} reports something: add --json"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_the_model_is_chosen_with_dash_m(path, command) -> None:
    if path[:1] in NO_MODEL:
        return
    visible = {flag for option in _options(command) if not option.hidden for flag in option.opts}
    assert {"-m", "--model"} <= visible, f"visiona {' '.join(path)}: choose the model with -m"


def test_deprecated_aliases_are_hidden_and_name_their_replacement() -> None:
    aliases = {
        (" ".join(path), flag)
        for path, command in COMMANDS
        for option in _options(command)
        if _deprecated(option)
        for flag in option.opts
    }
    assert {("predict faces", "--backend"), ("predict pose", "--complexity")} <= aliases
    assert {("faces evaluate", "--plot"), ("evaluate classify", "--out")} <= aliases


def test_lists_are_comma_separated_or_repeated() -> None:
    assert split_list("torch,onnx") == split_list(["torch", "onnx"]) == ["torch", "onnx"]
    assert split_list(["1, 2", "5"]) == ["1", "2", "5"] and split_list(None) == []
    assert split_ints(["1,16", "32"], "-b") == [1, 16, 32]
    for bad in ("1,x", "0"):
        with pytest.raises(UsageError, match="-b"):
            split_ints(bad, "-b")


def test_model_given_as_argument_or_option() -> None:
    assert model_argument("resnet18", None) == model_argument(None, "resnet18") == "resnet18"
    for args in ((None, None), ("a", "b")):
        with pytest.raises(UsageError):
            model_argument(*args)


def test_outputs_are_never_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    assert fresh_path(target) == target
    target.write_text("{}")
    assert fresh_path(target) == tmp_path / "report-2.json"
    (tmp_path / "report-2.json").write_text("{}")
    assert fresh_path(target) == tmp_path / "report-3.json"
    empty = tmp_path / "eval"
    empty.mkdir()
    assert fresh_path(empty) == empty
    (empty / "metrics.json").write_text("{}")
    assert fresh_path(empty) == tmp_path / "eval-2"
    photo = tmp_path / "in" / "cat.jpg"
    out = tmp_path / "out"
    pose, mesh = OutputNamer(out, [photo], task="pose"), OutputNamer(out, [photo], task="facemesh")
    first = pose.path_for(str(photo))
    first.write_bytes(b"x")
    assert first.name == "cat_pose.jpg" and mesh.path_for(str(photo)).name == "cat_facemesh.jpg"
    again = OutputNamer(out, [photo], task="pose")
    assert again.path_for(str(photo)).name == "cat_pose-2.jpg"  # a re-run keeps the first


def test_exit_codes_live_on_the_error_classes_and_in_the_readme() -> None:
    assert [int(code) for code in ExitCode] == [0, 1, 2, 3, 130]
    assert UsageError("x").exit_code == ExitCode.USAGE
    assert WeightsUnavailableError("x").exit_code == ExitCode.NOT_AVAILABLE_OFFLINE

    def subclasses(cls: type) -> list[type]:
        return [cls, *(s for sub in cls.__subclasses__() for s in subclasses(sub))]

    import visiona.data.builders
    import visiona.engine.export
    import visiona.engine.train  # noqa: F401  (their error classes join the tree)

    codes = {int(code) for code in ExitCode}
    for cls in subclasses(VisionaError):
        assert int(cls.exit_code) in codes, f"{cls.__name__} exits with an undocumented code"
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("### Exit codes") :]
    for code in ExitCode:
        assert f"| `{int(code)}` |" in table, f"exit code {int(code)} is missing from README"


def test_verbose_is_a_global_option(cli) -> None:
    assert "--verbose" in {flag for p in ROOT_COMMAND.params for flag in p.opts}
    result = cli("--help")
    assert result.code == 0 and "--verbose" in result.out


def test_commands_running_torch_models_take_device() -> None:
    by_name = dict(zip(IDS, (command for _, command in COMMANDS), strict=True))
    for name in (
        "serve",
        "predict classify",
        "predict detect",
        "evaluate classify",
        "train detect",
    ):
        flags = {flag for option in _options(by_name[name]) for flag in option.opts}
        assert "--device" in flags, f"visiona {name} needs --device"


def test_old_spellings_still_work_with_a_note(cli, tmp_path: Path) -> None:
    photo = tmp_path / "x.png"
    Image.new("RGB", (32, 32)).save(photo)
    old = cli("predict", "pose", photo, "--complexity", "ultra")
    assert old.code == 2 and "unknown pose backend 'ultra'" in old.err
    assert old.err.startswith("note: --complexity/-c is deprecated, use -m/--model")
    new = cli("predict", "pose", photo, "-m", "ultra")
    assert new.code == 2 and "deprecated" not in new.err


def test_the_page_starts_from_the_same_defaults() -> None:
    """The web page's threshold inputs start at visiona.defaults (as the CLI and the server)."""
    import re

    from visiona import defaults

    page = (ROOT / "src" / "visiona" / "serve" / "static" / "index.html").read_text()
    expected = {"conf": defaults.DETECT_CONF, "iou": defaults.DETECT_IOU, "top_k": defaults.TOP_K}
    for name, value in expected.items():
        tag = re.search(rf"<input[^>]*\bid=\"{name}\"[^>]*>", page)
        shown = tag and re.search(r'\bvalue="([^"]*)"', tag.group(0))
        if shown:  # a page that fills its controls from /v1/models has no static value
            assert float(shown.group(1)) == value, f"the page's {name} starts at {shown.group(1)}"
