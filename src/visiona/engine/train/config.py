"""Typed training configuration: defaults < YAML file < command-line options; saved per run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from visiona.errors import UsageError

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta")
SCHEDULES = ("none", "step", "exponential", "cosine", "plateau")
LOSSES = ("cross_entropy", "bce")
SEGMENT_LOSSES = ("ce", "dice", "focal", "ce+dice")
DETECTION_TASKS = ("detect", "segment-instances", "keypoints")
TRAIN_TASKS = ("classify", *DETECTION_TASKS, "segment")
MONITORS = {
    "classify": ("val/acc", "val/loss"),
    "detect": ("val/map50", "val/map"),
    "segment-instances": ("val/map50", "val/map", "val/mask_map50", "val/mask_map"),
    "keypoints": ("val/map50", "val/map"),
    "segment": ("val/miou", "val/pixel_acc", "val/dice"),
}
"""Metrics each task logs every epoch that may pick the best checkpoint (first = default)."""
_DETECTION_DEFAULTS = {"batch_size": 8, "lr": 2e-3, "epochs": 20}
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "classify": {"model": "cnn"},
    "detect": {"model": "fasterrcnn_small", **_DETECTION_DEFAULTS},
    "segment-instances": {"model": "maskrcnn_small", **_DETECTION_DEFAULTS},
    "keypoints": {"model": "keypointrcnn_small", **_DETECTION_DEFAULTS},
    "segment": {"model": "unet_tiny", "loss": "ce+dice", "batch_size": 8, "epochs": 30},
}
"""Defaults that differ by task; they apply where neither the YAML nor the CLI sets a value."""


@dataclass
class TrainConfig:
    """Everything a training run depends on (classification or the detection family).

    Task: ``task`` (``classify``, ``detect``, ``segment-instances``, ``keypoints``); detection
    tasks read COCO/YOLO/VOC data sets and ignore the classification-only options (loss,
    label smoothing, mixup, cutmix, image size).

    Data: ``data`` folder, ``val_fraction``/``test_fraction``/``seed`` of the split, ``image_size``
    (overrides the model's input size), ``augment`` preset (``hflip=False`` drops mirroring, for
    digits and text), ``mixup``/``cutmix`` alphas.
    Model: ``model`` name or checkpoint, ``pretrained``, ``arch_options`` (CNN shape),
    ``freeze`` (``none``/``backbone``), ``unfreeze`` (``last:N`` or names) and ``unfreeze_epoch``
    (the epoch a second fine-tuning stage starts; 0 = from the start).
    Optimisation: ``optimizer``, ``lr``, ``backbone_lr`` (default ``lr / 10``), ``momentum``,
    ``nesterov``, ``weight_decay``, ``schedule`` (+ ``step_size``, ``gamma``, ``warmup_epochs``),
    ``loss``, ``label_smoothing``, ``epochs``, ``batch_size``, ``patience`` (early stopping on the
    monitored metric; 0 = off), ``monitor`` (``val/acc`` or ``val/loss``).
    Run: ``name``, ``project`` folder, ``device``, ``precision``, ``workers``, ``deterministic``,
    ``max_bad_fraction`` of unreadable images tolerated.
    Segmentation: ``crop`` (random crop side), ``crops_per_epoch`` (samples per epoch),
    ``class_weights`` (``auto`` or ``w0,w1,...``); losses ``ce``, ``dice``, ``focal``, ``ce+dice``.
    """

    task: str = "classify"
    data: str = ""
    model: str | None = None
    pretrained: bool = False
    arch_options: dict[str, Any] = field(default_factory=dict)
    image_size: int | None = None
    val_fraction: float = 0.2
    test_fraction: float = 0.0
    seed: int = 0
    augment: str = "light"
    hflip: bool = True
    mixup: float = 0.0
    cutmix: float = 0.0
    freeze: str = "none"
    unfreeze: str | None = None
    unfreeze_epoch: int = 0
    optimizer: str = "adamw"
    lr: float = 1e-3
    backbone_lr: float | None = None
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    step_size: int = 10
    gamma: float = 0.1
    warmup_epochs: int = 0
    loss: str = "cross_entropy"
    label_smoothing: float = 0.0
    epochs: int = 10
    batch_size: int = 32
    patience: int = 0
    monitor: str | None = None
    name: str | None = None
    project: str = "runs"
    device: str = "auto"
    precision: str = "32-true"
    workers: int = 0
    deterministic: bool = False
    max_bad_fraction: float = 0.05
    crop: int | None = None
    crops_per_epoch: int | None = None
    class_weights: str | None = None

    def validate(self) -> TrainConfig:
        """Check values a user can get wrong; raises UsageError naming the option."""
        if self.task not in TRAIN_TASKS:
            raise UsageError(
                f"cannot train task {self.task!r}; trainable: {', '.join(TRAIN_TASKS)}"
            )
        if not self.data:
            raise UsageError("no dataset given; pass --data DIR")
        monitors = MONITORS[self.task]
        if self.monitor is None:
            self.monitor = monitors[0]
        if self.model is None:
            self.model = TASK_DEFAULTS[self.task]["model"]
        detection = self.task in DETECTION_TASKS
        if self.task == "segment" and self.loss == "cross_entropy":
            self.loss = "ce"
        checks = [
            (self.optimizer in OPTIMIZERS, f"--optimizer must be one of {', '.join(OPTIMIZERS)}"),
            (self.schedule in SCHEDULES, f"--schedule must be one of {', '.join(SCHEDULES)}"),
            (
                self.loss in (SEGMENT_LOSSES if self.task == "segment" else LOSSES),
                "--loss must be one of "
                + ", ".join(SEGMENT_LOSSES if self.task == "segment" else LOSSES),
            ),
            (self.crop is None or self.crop >= 32, "--crop must be at least 32"),
            (self.crops_per_epoch is None or self.crops_per_epoch >= 1, "--crops-per-epoch >= 1"),
            (self.freeze in ("none", "backbone"), "--freeze must be none or backbone"),
            (self.monitor in monitors, f"--monitor must be one of {', '.join(monitors)}"),
            (
                not detection or (self.mixup, self.cutmix) == (0, 0),
                "--mixup/--cutmix: classify only",
            ),
            (not detection or self.loss == "cross_entropy", "--loss is for classify only"),
            (self.lr > 0, "--lr must be positive"),
            (self.epochs >= 1, "--epochs must be at least 1"),
            (self.batch_size >= 1, "--batch-size must be at least 1"),
            (0 <= self.label_smoothing < 1, "--label-smoothing must be in [0, 1)"),
            (self.weight_decay >= 0, "--weight-decay must be >= 0"),
            (self.workers >= 0, "--workers must be >= 0"),
            (self.unfreeze_epoch >= 0, "--unfreeze-epoch must be >= 0"),
            (self.step_size >= 1, "--step-size must be at least 1"),
            (self.warmup_epochs >= 0, "--warmup-epochs must be >= 0"),
            (0 <= self.max_bad_fraction <= 1, "--max-bad-fraction must be in [0, 1]"),
            (self.image_size is None or self.image_size >= 8, "--image-size must be >= 8"),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a mapping (YAML, CLI), converting values to the fields' types.

        YAML reads ``1e-3`` as a string and ``5`` as an int where a float is meant; both are
        converted here, and a value that cannot be converted is a UsageError naming the option.
        """
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise UsageError(f"unknown training option(s) in config: {', '.join(unknown)}")
        task = str(data.get("task", "classify"))
        data = {**TASK_DEFAULTS.get(task, {}), **data}
        return cls(**{key: _coerce(key, known[key].type, value) for key, value in data.items()})


def _coerce(name: str, annotation: Any, value: Any) -> Any:
    text = str(annotation)
    if value is None:
        return None
    try:
        if text.startswith("bool"):
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered not in {"true", "false", "1", "0", "yes", "no", "on", "off"}:
                    raise ValueError(value)
                return lowered in {"true", "1", "yes", "on"}
            return bool(value)
        if text.startswith("float"):
            return float(value)
        if text.startswith("int"):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if text.startswith("dict"):
            if not isinstance(value, dict):
                raise ValueError(value)
            return dict(value)
        if text.startswith("str"):
            return str(value)
    except (TypeError, ValueError):
        raise UsageError(f"option {name}: {value!r} is not a valid {text.split(' ')[0]}") from None
    return value


def load_yaml_config(path: Path) -> dict[str, Any]:
    """Options from a YAML file (a mapping of TrainConfig field names)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise UsageError(f"config file not found: {str(path)!r}") from None
    except yaml.YAMLError as error:
        raise UsageError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping of option: value")
    return {key.replace("-", "_"): value for key, value in data.items()}


def save_yaml_config(config: TrainConfig, path: Path) -> None:
    import yaml

    from visiona.io.atomic import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(config.to_dict(), sort_keys=True))
