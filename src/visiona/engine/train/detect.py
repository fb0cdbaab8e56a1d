"""The Lightning module of the detection family (boxes, instance masks, keypoints).

torchvision's detectors compute their own losses in training mode (``network(images, targets)``
returns a dict of loss terms) and return detections in eval mode, so training sums the loss terms
and validation turns detections into :class:`~visiona.results.detections.Detections` and scores
them with COCO mAP (:class:`~visiona.metrics.detection.DetectionMetrics`). There is no
validation loss: the networks only compute losses in training mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from visiona.engine.train.config import TrainConfig
from visiona.engine.train.module import OptimizedModule, seed_for_epoch
from visiona.models.transfer import set_trainable

Batch = tuple[list[torch.Tensor], list[dict[str, Any]]]
"""``([image (3, H_i, W_i) float in [0, 1], ...], [target dict, ...])`` (labels = class id + 1)."""


def detections_from_output(
    output: dict[str, torch.Tensor], names: Sequence[str], image_size: tuple[int, int]
) -> Any:
    """One torchvision output dict → :class:`Detections` (class id = label - 1, masks > 0.5).

    Args:
        output: ``boxes (N, 4)`` xyxy, ``labels (N,)``, ``scores (N,)``, optional
            ``masks (N, 1, H, W)`` probabilities and ``keypoints (N, K, 3)``.
        names: Class names (background excluded).
        image_size: ``(width, height)`` of the image.
    """
    from visiona.results.detections import Detections

    keep = output["labels"] >= 1  # a background label never comes out, but be safe
    masks = output.get("masks")
    keypoints = output.get("keypoints")
    return Detections(
        xyxy=output["boxes"][keep].detach().float().cpu().numpy().reshape(-1, 4),
        scores=output["scores"][keep].detach().float().cpu().numpy(),
        class_ids=(output["labels"][keep] - 1).cpu().numpy().astype(np.int64),
        names=tuple(names),
        masks=None if masks is None else (masks[keep][:, 0] > 0.5).cpu().numpy(),
        keypoints=None if keypoints is None else keypoints[keep].float().cpu().numpy(),
        image_size=image_size,
    )


def ground_truth_from_target(target: dict[str, Any], image_size: tuple[int, int]) -> Any:
    """A training target dict → :class:`~visiona.metrics.detection.GroundTruth`."""
    from visiona.metrics.detection import GroundTruth

    masks = target.get("masks")
    return GroundTruth(
        boxes=torch.as_tensor(target["boxes"]).float().cpu().numpy().reshape(-1, 4),
        class_ids=(torch.as_tensor(target["labels"]) - 1).cpu().numpy().astype(np.int64),
        iscrowd=torch.as_tensor(target["iscrowd"]).cpu().numpy().astype(bool),
        masks=None if masks is None else torch.as_tensor(masks).cpu().numpy().astype(bool),
        image_size=image_size,
    )


class DetectionModule(OptimizedModule):
    """Trains a torchvision-style detector on :data:`Batch` batches.

    Logs ``train/loss`` (sum of the loss terms) and each term (``train/loss_classifier``...);
    after each validation epoch ``val/map``, ``val/map50``, ``val/map75`` (boxes) and, for
    instance segmentation, ``val/mask_map``, ``val/mask_map50``.

    Args:
        network: A detector: ``network(images, targets)`` → loss dict in training mode,
            ``network(images)`` → list of detection dicts in eval mode.
        config: The run's configuration.
        class_names: Object classes (background excluded).
        masks: Also score instance masks (``segment-instances``).
    """

    def __init__(
        self,
        network: nn.Module,
        config: TrainConfig,
        class_names: Sequence[str],
        *,
        masks: bool = False,
    ) -> None:
        super().__init__()
        from visiona.metrics.detection import DetectionMetrics

        self.network = network.train()
        self.config = config
        self.class_names = tuple(class_names)
        self.box_metrics = DetectionMetrics(self.class_names, iou_type="bbox")
        self.mask_metrics = DetectionMetrics(self.class_names, iou_type="segm") if masks else None

    def forward(self, images: list[torch.Tensor]) -> Any:
        return self.network(images)

    def head_parameters(self) -> list[nn.Parameter]:
        """Everything but the backbone: RPN, RoI heads (or the dense heads) and their predictors."""
        backbone = {id(p) for p in self.network.backbone.parameters()}
        return [p for p in self.network.parameters() if id(p) not in backbone]

    def apply_freezing(self, epoch: int) -> None:
        """``freeze=backbone`` trains only the heads until ``unfreeze_epoch`` (when given with
        ``--unfreeze``), then everything."""
        if self.config.freeze == "none":
            set_trainable(self.network, True)
            return
        thawed = self.config.unfreeze is not None and epoch >= self.config.unfreeze_epoch
        set_trainable(self.network, True)
        set_trainable(self.network.backbone, thawed)

    def on_train_epoch_start(self) -> None:
        seed_for_epoch(self.config.seed, self.current_epoch)
        self.apply_freezing(self.current_epoch)

    def training_step(self, batch: Batch, _: int) -> torch.Tensor:
        images, targets = batch
        losses = self.network(images, targets)
        loss = sum(losses.values())
        size = len(images)
        self.log("train/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=size)
        for name, value in losses.items():
            self.log(f"train/{name}", value, on_step=False, on_epoch=True, batch_size=size)
        return loss

    def validation_step(self, batch: Batch, _: int) -> None:
        images, targets = batch
        outputs = self.network(images)
        sizes = [(int(image.shape[-1]), int(image.shape[-2])) for image in images]
        predictions = [
            detections_from_output(output, self.class_names, size)
            for output, size in zip(outputs, sizes, strict=True)
        ]
        truths = [
            ground_truth_from_target(target, size)
            for target, size in zip(targets, sizes, strict=True)
        ]
        self.box_metrics.update(predictions, truths)
        if self.mask_metrics is not None:
            self.mask_metrics.update(predictions, truths)

    def on_validation_epoch_end(self) -> None:
        report = self.box_metrics.compute()
        self.box_metrics.reset()
        values = {"val/map": report.map, "val/map50": report.map50, "val/map75": report.map75}
        if self.mask_metrics is not None:
            masks = self.mask_metrics.compute()
            self.mask_metrics.reset()
            values |= {"val/mask_map": masks.map, "val/mask_map50": masks.map50}
        # COCO reports -1 when there is nothing to score (no objects); log 0 so curves and
        # "best" comparisons stay meaningful.
        for name, value in values.items():
            self.log(name, max(float(value), 0.0), prog_bar=name == "val/map50")
