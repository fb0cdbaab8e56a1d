"""Preparing a detection-family run (``detect``, ``segment-instances``, ``keypoints``).

The data set (COCO, YOLO or VOC) is read and split (its own ``train``/``val`` splits when it has
them), every problem is reported with file and line and the bad labels are left out; the split
is saved as ``split.json`` and reused on resume. The model is a catalogue detector (random init
for the from-scratch ``*_small`` ones), its pretrained weights with a new head for the data set's
classes (``--pretrained``), or a visiona detection checkpoint. The fit itself is
:func:`visiona.engine.train.train`'s, shared with classification.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visiona.engine.train.config import TrainConfig, save_yaml_config
from visiona.engine.train.run import PreparedRun, epoch_seeded_loaders, new_run_dir, read_metrics
from visiona.errors import UsageError
from visiona.io.atomic import atomic_write_text

if TYPE_CHECKING:
    from rich.console import Console

    from visiona.data.detection.annotations import DetectionDataset
    from visiona.data.detection.splits import DetectionSplits
    from visiona.models.load import LoadedModel

MAX_PROBLEMS_SHOWN = 20


def keypoint_flip_indices(names: Sequence[str]) -> list[int] | None:
    """The mirror-flip map of keypoints named with a side (``left_eye`` ↔ ``right_eye``).

    Returns:
        ``flip[k]`` = index keypoint ``k`` takes after a flip, or None when no name has a side.
    """
    index = {name: k for k, name in enumerate(names)}
    flip = list(range(len(names)))
    found = False
    pattern = re.compile(r"(^|[_\- ])(left|right|l_|r_)", re.IGNORECASE)
    swap = {"left": "right", "right": "left", "l_": "r_", "r_": "l_"}

    def other_side(match: re.Match[str]) -> str:
        side = match.group(2)
        twin = swap[side.lower()]
        if side.isupper():
            twin = twin.upper()
        elif side[0].isupper():
            twin = twin.capitalize()
        return match.group(1) + twin

    for k, name in enumerate(names):
        twin = pattern.sub(other_side, name, count=1)
        if twin != name and twin in index:
            flip[k] = index[twin]
            found = True
    return flip if found else None


def _splits(config: TrainConfig, resume: Path | None, run_dir: Path | None) -> DetectionSplits:
    from visiona.data.detection.convert import read_dataset
    from visiona.data.detection.splits import DetectionSplits, load_detection_splits

    if resume is not None and run_dir is not None:
        dataset, _ = read_dataset(config.data)
        return DetectionSplits.from_json((run_dir / "split.json").read_text(), dataset)
    return load_detection_splits(
        config.data,
        val_fraction=config.val_fraction,
        test_fraction=config.test_fraction,
        seed=config.seed,
    )


def _report_problems(splits: DetectionSplits, console: Console | None) -> None:
    if console is None or not splits.problems:
        return
    for problem in splits.problems[:MAX_PROBLEMS_SHOWN]:
        console.print(f"{problem}", markup=False)
    hidden = len(splits.problems) - MAX_PROBLEMS_SHOWN
    if hidden > 0:
        console.print(f"... and {hidden} more (visiona data check DIR lists them all)")
    console.print(
        f"{len(splits.errors)} label problem(s) left out of training; the files were not changed",
        markup=False,
    )


def _model(config: TrainConfig, dataset: DetectionDataset) -> LoadedModel:
    """The detector for ``dataset``'s classes (see the module docs)."""
    from visiona.models.catalog import get_spec
    from visiona.models.detection_heads import replace_detection_head
    from visiona.models.load import load_model
    from visiona.weights.checkpoint import checkpoint_path

    classes = dataset.classes
    options = dict(config.arch_options)
    from_checkpoint = checkpoint_path(str(config.model)) is not None
    if config.pretrained or from_checkpoint:
        if options:
            raise UsageError("--arch-opt shapes a new network; it cannot change trained weights")
        loaded = load_model(config.model, task=config.task, pretrained=True)
        if loaded.weights.class_names != classes:
            keypoints = dataset.num_keypoints if config.task == "keypoints" else None
            replace_detection_head(loaded.module, len(classes), num_keypoints=keypoints)
        return loaded
    spec, _ = get_spec(str(config.model))
    if spec.task != config.task:
        raise UsageError(
            f"model {spec.name!r} is a {spec.task!r} model, not {config.task!r}",
            hint=f"list {config.task} models with: visiona weights list",
        )
    if config.task == "keypoints":
        options.setdefault("num_keypoints", dataset.num_keypoints)
    return load_model(
        config.model,
        task=config.task,
        pretrained=False,
        num_classes=len(classes),
        arch_options=options or None,
    )


def _loaders(config: TrainConfig, splits: DetectionSplits, start_epoch: int) -> tuple[Any, Any]:
    from visiona.data.detection.augment import detection_eval_transform, detection_train_transform
    from visiona.data.detection.torch_dataset import DetectionTorchDataset, detection_collate

    dataset = splits.dataset
    masks = config.task == "segment-instances"
    keypoints = config.task == "keypoints"
    flip_map = keypoint_flip_indices(dataset.keypoint_names) if keypoints else None
    train_transform = detection_train_transform(
        config.augment, hflip=config.hflip, keypoint_flip_indices=flip_map
    )
    flags = {"masks": masks, "keypoints": keypoints}
    train_set = DetectionTorchDataset(dataset, splits.train, train_transform, **flags)
    val_set = DetectionTorchDataset(dataset, splits.val, detection_eval_transform(), **flags)
    return epoch_seeded_loaders(
        config, train_set, val_set, start_epoch, collate_fn=detection_collate
    )


def prepare_detection_run(
    config: TrainConfig, *, resume: Path | None = None, console: Console | None = None
) -> PreparedRun:
    """Read and split the data set, build the detector, loaders, module and artefacts."""
    from visiona.engine.train.callbacks import RunArtifacts
    from visiona.engine.train.detect import DetectionModule
    from visiona.engine.train.module import seed_for_epoch
    from visiona.weights.record import Weights

    config.validate()
    splits = _splits(config, resume, resume)
    _report_problems(splits, console)
    if config.task == "keypoints" and splits.dataset.num_keypoints == 0:
        raise UsageError(
            f"{config.data} has no keypoints to train a keypoint detector on",
            hint="label keypoints (COCO 'keypoints', YOLO kpt_shape), or try: "
            "visiona data make shapes shapes_kp/ --keypoints",
        )
    if not splits.val:
        raise UsageError(
            "no validation images", hint="add a val split or raise --val (e.g. --val 0.2)"
        )
    seed_for_epoch(config.seed, -1)
    loaded = _model(config, splits.dataset)
    if resume is not None:
        run_dir = resume
    else:
        run_dir = new_run_dir(Path(config.project), config.name, config.task)
        config.name = run_dir.name
        save_yaml_config(config, run_dir / "config.yaml")
        atomic_write_text(run_dir / "split.json", splits.to_json())
    classes = splits.dataset.classes
    base = f"; base weights {loaded.weights.full_name}: {loaded.weights.license}"
    record = Weights(
        model=loaded.architecture,
        tag=run_dir.name,
        task=config.task,
        preprocessing=loaded.weights.preprocessing,
        class_names=classes,
        license="yours (trained with visiona)" + (base if config.pretrained else ""),
        description=f"{loaded.architecture} trained on {config.data}",
    )
    module = DetectionModule(
        loaded.module, config, classes, masks=config.task == "segment-instances"
    )
    start_epoch = int(read_metrics(run_dir / "last.json").get("epoch", 0)) if resume else 0
    train_loader, val_loader = _loaders(config, splits, start_epoch)
    artifacts = RunArtifacts(
        run_dir, loaded.architecture, record, loaded.arch_options, config.to_dict(),
        str(config.monitor),
    )  # fmt: skip
    return PreparedRun(
        config, run_dir, splits, module, train_loader, val_loader, artifacts, [],
        splits.problems,
    )  # fmt: skip
