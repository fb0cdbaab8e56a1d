"""Semantic segmentation training: few images, many random crops, mIoU-monitored.

:func:`prepare_segment_run` reads the data set (:mod:`visiona.data.segmentation.dataset`),
checks every pair (problems are reported per file and the bad pairs left out), builds the model
(random init, ``--pretrained`` ImageNet encoder, or a visiona checkpoint to continue) and the
loaders: each epoch is ``crops_per_epoch`` random ``crop``² windows of the training images
(:class:`~visiona.data.segmentation.torch_dataset.CropDataset`); validation runs whole images
through the same sliding window as ``predict``. :class:`SegmentationModule` logs ``train/loss``,
``val/miou``, ``val/dice`` and ``val/pixel_acc``; early stopping and the best checkpoint follow
``val/miou`` by default. The fit is :func:`visiona.engine.train.fit.train`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from visiona.engine.train.config import TrainConfig, save_yaml_config
from visiona.engine.train.module import OptimizedModule, seed_for_epoch
from visiona.engine.train.run import PreparedRun, epoch_seeded_loaders, new_run_dir, read_metrics
from visiona.errors import UsageError
from visiona.results.segmentation import IGNORE_INDEX

if TYPE_CHECKING:
    from rich.console import Console


DEFAULT_CROP = 256
MAX_PROBLEMS_SHOWN = 20
VAL_TILE = 512


def segmentation_loss(name: str, weights: list[float] | None = None) -> nn.Module:
    """``loss(logits (N, C, H, W), ids (N, H, W))``: ``ce``, ``dice``, ``focal`` or ``ce+dice``
    (smp's Dice and Focal losses, multiclass, ignoring :data:`IGNORE_INDEX`)."""
    from segmentation_models_pytorch.losses import DiceLoss, FocalLoss

    weight = torch.tensor(weights, dtype=torch.float32) if weights else None
    terms: list[nn.Module] = []
    if name in ("ce", "ce+dice"):
        terms.append(nn.CrossEntropyLoss(weight=weight, ignore_index=IGNORE_INDEX))
    if name in ("dice", "ce+dice"):
        terms.append(DiceLoss("multiclass", ignore_index=IGNORE_INDEX))
    if name == "focal":
        terms.append(FocalLoss("multiclass", ignore_index=IGNORE_INDEX))

    class Sum(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.terms = nn.ModuleList(terms)

        def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            return sum(term(logits, target) for term in self.terms)  # type: ignore[return-value]

    return Sum()


class SegmentationModule(OptimizedModule):
    """Trains ``network`` (``(N, 3, H, W)`` → ``(N, C, H, W)`` logits) on random crops."""

    def __init__(
        self,
        network: nn.Module,
        config: TrainConfig,
        class_names: tuple[str, ...],
        weights: list[float] | None = None,
    ) -> None:
        super().__init__()
        from visiona.metrics.segmentation import SegmentationMetrics

        self.network = network.train()
        self.config = config
        self.class_names = class_names
        self.loss = segmentation_loss(config.loss, weights)
        self.metrics = SegmentationMetrics(class_names)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network(images)

    def head_parameters(self) -> list[nn.Parameter]:
        """Everything but a pretrained encoder (smp models) is the "head"."""
        encoder = getattr(self.network, "encoder", None)
        if encoder is None:
            return list(self.network.parameters())
        inside = {id(p) for p in encoder.parameters()}
        return [p for p in self.network.parameters() if id(p) not in inside]

    def on_train_epoch_start(self) -> None:
        seed_for_epoch(self.config.seed, self.current_epoch)
        encoder = getattr(self.network, "encoder", None)
        if encoder is not None and self.config.freeze == "backbone":
            thawed = self.config.unfreeze is not None and self.current_epoch >= (
                self.config.unfreeze_epoch
            )
            for parameter in encoder.parameters():
                parameter.requires_grad_(thawed)

    def training_step(self, batch: Any, _: int) -> torch.Tensor:
        images, masks = batch
        loss = self.loss(self.network(images), masks)
        self.log("train/loss", loss, on_step=False, on_epoch=True, prog_bar=True,
                 batch_size=len(images))  # fmt: skip
        return loss

    def validation_step(self, batch: Any, _: int) -> None:
        from visiona.ops.tiling import sliding_window

        images, masks = batch
        for image, mask in zip(images, masks, strict=True):
            probabilities = sliding_window(image, self.network, tile=VAL_TILE, overlap=64)
            self.metrics.update(probabilities.argmax(0).cpu(), mask.cpu())

    def on_validation_epoch_end(self) -> None:
        report = self.metrics.compute()
        self.metrics.reset()
        self.log("val/miou", report.miou, prog_bar=True)
        self.log("val/dice", report.mean_dice)
        self.log("val/pixel_acc", report.pixel_accuracy)


def _report_problems(problems: list[Any], root: Path, console: Console | None) -> None:
    if console is None or not problems:
        return
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        console.print(f"{root / problem.file}: {problem.message}", markup=False)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        console.print(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more (visiona data check)")
    errors = sum(p.level == "error" for p in problems)
    if errors:
        console.print(f"{errors} image(s) left out of training; no file was changed", markup=False)


def _model(config: TrainConfig, classes: tuple[str, ...], console: Console | None):
    """The network for ``classes`` and a note on its pretrained part (for the license line)."""
    from visiona.models.catalog import get_spec
    from visiona.models.load import load_model
    from visiona.weights.checkpoint import checkpoint_path

    options = dict(config.arch_options)
    if checkpoint_path(str(config.model)) is not None:
        loaded = load_model(config.model, task="segment", pretrained=True)
        if loaded.weights.class_names != classes:
            raise UsageError(
                f"{config.model} predicts {len(loaded.weights.class_names)} classes "
                f"{loaded.weights.class_names}, the data set has {classes}",
                hint="continue training only on data with the same classes",
            )
        return loaded, f"; continued from {config.model}"
    spec, _ = get_spec(str(config.model))
    if spec.task != "segment":
        raise UsageError(
            f"model {spec.name!r} is a {spec.task!r} model, not a segmentation model",
            hint="segmentation models: unet_tiny, unet, unetplusplus, fpn, deeplabv3plus",
        )
    if spec.family == "torchvision":
        if not config.pretrained:
            raise UsageError(f"{spec.name} is trained here only from its weights: add --pretrained")
        from visiona.models.segmentation import replace_torchvision_head

        loaded = load_model(config.model, task="segment", pretrained=True, console=console)
        replace_torchvision_head(loaded.module, len(classes))
        return loaded, f"; base weights {loaded.weights.full_name}: {loaded.weights.license}"
    loaded = load_model(
        config.model, task="segment", pretrained=False, num_classes=len(classes),
        arch_options=options or None,
    )  # fmt: skip
    if config.pretrained:
        if spec.family != "segmentation-models-pytorch":
            raise UsageError(
                f"{spec.name} has no pretrained encoder; drop --pretrained",
                hint="pretrained offline: -m unet --arch-opt encoder=efficientnet_lite0",
            )
        from visiona.models.segmentation import load_pretrained_encoder

        note = load_pretrained_encoder(loaded.module, loaded.arch_options, console)
        return loaded, f"; {note}"
    return loaded, ""


def prepare_segment_run(
    config: TrainConfig, *, resume: Path | None = None, console: Console | None = None
) -> PreparedRun:
    """Read, check and split the data; build the model, loaders, module and artefacts."""
    import json

    from visiona.data.segmentation.check import check_sample
    from visiona.data.segmentation.dataset import read_segmentation_dataset, split_samples
    from visiona.data.segmentation.torch_dataset import (
        CropDataset,
        WholeImageDataset,
        class_weights,
        list_collate,
        load_pair,
    )
    from visiona.engine.train.callbacks import RunArtifacts
    from visiona.weights.record import Weights

    config.validate()
    dataset = read_segmentation_dataset(config.data)
    if resume is not None:
        saved = json.loads((resume / "split.json").read_text())
        by_path = {str(s.image): s for s in dataset.samples}
        train = [by_path[p] for p in saved["train"] if p in by_path]
        val = [by_path[p] for p in saved["val"] if p in by_path]
    else:
        train, val, _ = split_samples(dataset, config.val_fraction, config.seed)
    problems = []
    pairs = {}
    for sample in [*train, *val]:
        found, ids = check_sample(dataset, sample)
        problems += found
        if ids is not None:
            pairs[sample.image] = load_pair(dataset, sample)
    _report_problems(problems, dataset.root, console)
    train_pairs = [pairs[s.image] for s in train if s.image in pairs]
    val_pairs = [pairs[s.image] for s in val if s.image in pairs]
    if not train_pairs:
        raise UsageError(f"{config.data}: no usable training image/mask pair (see above)")
    if not val_pairs:
        raise UsageError(
            "no validation images",
            hint="add a val/ split (val/images + val/masks) or more labelled images (--val 0.2)",
        )
    seed_for_epoch(config.seed, -1)
    loaded, base = _model(config, dataset.classes, console)
    if resume is not None:
        run_dir = resume
    else:
        run_dir = new_run_dir(Path(config.project), config.name, config.task)
        config.name = run_dir.name
        save_yaml_config(config, run_dir / "config.yaml")
        split = {"train": [str(s.image) for s in train], "val": [str(s.image) for s in val]}
        (run_dir / "split.json").write_text(json.dumps(split, indent=1))
    crop = config.crop or DEFAULT_CROP
    crops = config.crops_per_epoch or max(
        config.batch_size,
        sum(-(-img.shape[0] * img.shape[1] // (crop * crop)) for img, _ in train_pairs),
    )
    preprocessing = loaded.weights.preprocessing
    weights = class_weights(config.class_weights, train_pairs, dataset.num_classes)
    record = Weights(
        model=loaded.architecture,
        tag=run_dir.name,
        task="segment",
        preprocessing=preprocessing,
        class_names=dataset.classes,
        class_colors=dataset.colors,
        license="yours (trained with visiona)" + base,
        description=f"{loaded.architecture} trained on {config.data}",
    )
    module = SegmentationModule(loaded.module, config, dataset.classes, weights)
    train_set = CropDataset(train_pairs, preprocessing, crop, crops, config.augment, config.hflip)
    val_set = WholeImageDataset(val_pairs, preprocessing)
    start_epoch = int(read_metrics(run_dir / "last.json").get("epoch", 0)) if resume else 0
    train_loader, _ = epoch_seeded_loaders(config, train_set, val_set, start_epoch)
    from torch.utils.data import DataLoader

    val_loader = DataLoader(val_set, batch_size=1, shuffle=False, collate_fn=list_collate,
                            num_workers=config.workers)  # fmt: skip
    artifacts = RunArtifacts(
        run_dir, loaded.architecture, record, loaded.arch_options, config.to_dict(),
        str(config.monitor),
    )  # fmt: skip
    return PreparedRun(
        config, run_dir, dataset, module, train_loader, val_loader, artifacts, [], problems
    )
