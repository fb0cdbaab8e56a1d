"""Load a model by catalogue name or checkpoint path, with the Weights record that describes it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from visiona.errors import InputNotFoundError, UsageError, WeightsError
from visiona.models import light_head
from visiona.models.catalog import DEFAULT_MODELS, get_spec
from visiona.models.imagenet import numbered_class_names
from visiona.tasks.base import get_task
from visiona.tasks.perception import PerceptionTask
from visiona.weights.checkpoint import (
    checkpoint_path,
    load_checkpoint_tensors,
    read_checkpoint_info,
)
from visiona.weights.record import Preprocessing, Weights
from visiona.weights.resolve import resolve_weights

if TYPE_CHECKING:
    from rich.console import Console
    from torch import nn

    from visiona.models.spec import ModelSpec


@dataclass(frozen=True)
class LoadedModel:
    """A ready model and what it needs to be used.

    Attributes:
        module: The network in eval mode, on the CPU.
        architecture: Catalogue name of the architecture.
        weights: Record with preprocessing and class names (tag ``"random"`` for random init).
        origin: Where the parameters came from: ``random``, ``file``, ``cache``, ``package``,
            ``download`` or ``checkpoint``.
        source: The name or path the user gave.
        task: Task the model solves.
        arch_options: Options the architecture was built with (e.g. the CNN's ``blocks``).
    """

    module: nn.Module
    architecture: str
    weights: Weights
    origin: str
    source: str
    task: str
    arch_options: dict[str, Any] = field(default_factory=dict)


_PATH_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin", ".onnx", ".tflite")


_MODEL_PREFIXES = ("timm/", "torchvision/")


def _looks_like_path(model: str) -> bool:
    if model.startswith(_MODEL_PREFIXES):
        return False
    return os.sep in model or model.endswith(_PATH_SUFFIXES) or model.startswith((".", "~"))


def load_model(
    model: str | Path | None = None,
    *,
    task: str = "classify",
    pretrained: bool = True,
    num_classes: int | None = None,
    weights_file: str | Path | None = None,
    arch_options: dict[str, Any] | None = None,
    console: Console | None = None,
) -> LoadedModel:
    """Build a model by name (``"resnet18"``, ``"efficientnet_lite0"``) or from a checkpoint.

    Args:
        model: Catalogue name (optionally ``.TAG``), a visiona checkpoint path
            (``runs/classify/x/best`` or ``.../best.safetensors``), or an ONNX file exported by
            visiona (``module`` is then an :class:`~visiona.models.onnx.format.OnnxModel`, run
            by the ONNX Runtime backend), or a ``.tflite`` file (a
            :class:`~visiona.models.tflite.format.TfliteModel`, run by LiteRT). ``None`` picks the task's default.
        task: The task the model must solve.
        pretrained: Load the default (or tagged) pretrained weights; ``False`` gives random init.
        num_classes: Output classes for random init (default: the architecture's).
        weights_file: A local weights file to use instead of the catalogue's sources.
        arch_options: Architecture options for configurable models (``{"blocks": 4}`` for
            ``cnn``); only with random init. For packaged perception models: their options
            (``{"conf": 0.5}``).
        console: Where a download progress bar goes.

    Raises:
        UnknownNameError: Unknown model name (with close matches).
        WeightsUnavailableError: Pretrained weights are not on disk and cannot be fetched.
        WeightsError: The weights file does not fit the architecture.
    """
    if get_task(task).whole_images:
        return load_packaged_model(
            task, None if model is None else str(model), **(arch_options or {})
        )
    name = str(model) if model is not None else DEFAULT_MODELS.get(task)
    if name is None:
        raise UsageError(f"task {task!r} has no default model; pass --model NAME")
    if name.endswith(".onnx") and Path(name).expanduser().is_file():
        return _load_onnx(Path(name).expanduser(), task)
    if name.endswith(".tflite") and Path(name).expanduser().is_file():
        return _load_tflite(Path(name).expanduser(), task, arch_options)
    checkpoint = checkpoint_path(name)
    if checkpoint is not None:
        return _load_checkpoint(checkpoint, task)
    if _looks_like_path(name):
        if Path(name).expanduser().exists():
            raise UsageError(
                f"{name!r} is not a visiona checkpoint (.safetensors written by visiona)",
                hint="for a plain weights file use: --model ARCHITECTURE --weights FILE",
            )
        raise InputNotFoundError(f"model file not found: {name!r}")
    spec, tag = get_spec(name)
    if spec.task != task:
        raise UsageError(f"model {spec.name!r} solves {spec.task!r}, not {task!r}")
    if not pretrained:
        if tag is not None:
            raise UsageError(f"{name!r} names pretrained weights, but random init was asked for")
        return _random_model(spec, num_classes, name, task, arch_options)
    if arch_options:
        raise UsageError("architecture options apply to randomly initialised models only")
    if not spec.weights and weights_file is None:
        _no_weights(spec)
    record = spec.weights_for(tag) if spec.weights else _file_record(spec, num_classes)
    if num_classes is not None and num_classes != record.num_classes:
        raise UsageError(
            f"{record.full_name} has {record.num_classes} classes, not {num_classes}",
            hint="a new head for other classes is trained with: visiona train classify",
        )
    resolved = resolve_weights(record, file=weights_file, console=console)
    module = _build(spec, record.num_classes, resolved.path)
    return LoadedModel(module.eval(), spec.name, record, resolved.origin, name, task)


def _build(
    spec: ModelSpec,
    num_classes: int,
    weights_file: Path | None,
    options: dict[str, Any] | None = None,
) -> nn.Module:
    try:
        return spec.build(num_classes, weights_file, **(options or {}))
    except RuntimeError as error:  # load_state_dict: missing/unexpected keys, shape mismatch
        first_line = str(error).strip().splitlines()[0]
        raise WeightsError(
            f"{weights_file} does not fit {spec.name}: {first_line}",
            hint="check that the file was trained for this architecture and class count",
        ) from None


def _random_model(
    spec: ModelSpec, num_classes: int | None, name: str, task: str, options: dict[str, Any] | None
) -> LoadedModel:
    count = num_classes or spec.num_classes
    record = Weights(
        model=spec.name,
        tag="random",
        task=task,
        preprocessing=spec.preprocessing_for(options),
        class_names=numbered_class_names(count),
        description="random initialisation",
    )
    module = _build(spec, count, None, options).eval()
    return LoadedModel(module, spec.name, record, "random", name, task, dict(options or {}))


def _file_record(spec: ModelSpec, num_classes: int | None) -> Weights:
    count = num_classes or spec.num_classes
    return Weights(
        model=spec.name,
        tag="file",
        preprocessing=spec.preprocessing,
        class_names=numbered_class_names(count),
    )


def _no_weights(spec: ModelSpec) -> NoReturn:
    raise UsageError(
        f"model {spec.name!r} has no pretrained weights",
        hint="use random init (--random-init, pretrained=False) or pass --weights FILE",
    )


def _load_checkpoint(path: Path, task: str) -> LoadedModel:
    info = read_checkpoint_info(path)
    if info.weights.task != task:
        raise UsageError(f"{path} is a {info.weights.task!r} checkpoint, not {task!r}")
    if info.architecture == light_head.ARCHITECTURE:  # frozen embedder + kNN/linear head
        module = light_head.build_from_options(info.outputs, info.arch_options, _feature_backbone)
        spec_name = light_head.ARCHITECTURE
    else:
        spec, _ = get_spec(info.architecture)
        module = _build(spec, info.outputs, None, info.arch_options)
        spec_name = spec.name
    state = load_checkpoint_tensors(path)
    try:
        module.load_state_dict(state)
    except RuntimeError as error:
        first_line = str(error).strip().splitlines()[0]
        raise WeightsError(f"{path} does not fit {spec_name}: {first_line}") from None
    return LoadedModel(
        module.eval(), spec_name, info.weights, "checkpoint", str(path), task, info.arch_options
    )


def _feature_backbone(name: str, options: dict[str, Any]) -> nn.Module:
    """A randomly initialised catalogue classifier without its head: ``(N, D)`` features."""
    from torch import nn

    from visiona.models.transfer import find_head

    spec, _ = get_spec(name)
    network = _build(spec, spec.num_classes, None, options or None)
    head_name, _ = find_head(network)
    parent = network.get_submodule(head_name.rpartition(".")[0]) if "." in head_name else network
    setattr(parent, head_name.rpartition(".")[2], nn.Identity())
    return network


def _load_onnx(path: Path, task: str) -> LoadedModel:
    from visiona.models.onnx.read import read_onnx

    graph = read_onnx(path)
    if graph.weights.task != task:
        raise UsageError(f"{path} is a {graph.weights.task!r} model, not {task!r}")
    return LoadedModel(
        graph,  # type: ignore[arg-type]  # runs on ONNX Runtime, not torch
        graph.architecture,
        graph.weights,
        "onnx",
        str(path),
        task,
        graph.arch_options,
    )


def _load_tflite(path: Path, task: str, options: dict[str, Any] | None) -> LoadedModel:
    """A ``.tflite`` file; ``options`` may carry ``foreign`` (a ForeignPreprocessing)."""
    from visiona.models.tflite.read import read_tflite

    graph = read_tflite(path, (options or {}).get("foreign"))
    if graph.weights.task != task:
        raise UsageError(f"{path} is a {graph.weights.task!r} model, not {task!r}")
    return LoadedModel(
        graph,  # type: ignore[arg-type]  # runs on LiteRT, not torch
        graph.architecture,
        graph.weights,
        "tflite",
        str(path),
        task,
        graph.arch_options,
    )


# Packaged models take the image as it is: no resize, no normalisation outside the model.
_AS_IS = Preprocessing(
    input_size=(1, 1), resize="none", resize_size=None, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0)
)


def load_packaged_model(task: str, model: str | None = None, **options: Any) -> LoadedModel:
    """The packaged model ``model`` of perception ``task`` (default: the task's default).

    Args:
        task: ``faces``, ``pose``, ``hands``, ``facemesh`` or ``matting``.
        model: The task's model name (``blazeface``, ``hog``...; ``lite``/``full``/``heavy`` for
            pose; ``general``/``landscape`` for matting).
        **options: Model options such as ``conf``; ``None`` values are ignored.

    Raises:
        UsageError: ``task`` is not a perception task, or an option is invalid.
        UnknownNameError: No such model for the task (with the known names).
        MissingDependencyError: The model's package is not installed (names the command).
    """
    perception = get_task(task)
    if not isinstance(perception, PerceptionTask):
        raise UsageError(f"task {task!r} does not run packaged perception models")
    name = model or perception.default_backend
    module = perception.build(name, **options)
    weights = Weights(
        model=name,
        tag="packaged",
        task=task,
        preprocessing=_AS_IS,
        license="see the package's license (visiona weights list)",
        description=(type(perception).__doc__ or task).strip().splitlines()[0],
    )
    given = {key: value for key, value in options.items() if value is not None}
    return LoadedModel(
        module=module,
        architecture=name,
        weights=weights,
        origin="package",
        source=name,
        task=task,
        arch_options=given,
    )
