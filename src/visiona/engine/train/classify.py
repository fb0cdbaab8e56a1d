"""The classification family's Lightning module: cross-entropy/BCE steps, freezing, MixUp/CutMix."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from visiona.engine.train.config import TrainConfig
from visiona.engine.train.module import OptimizedModule, seed_for_epoch
from visiona.models.transfer import find_head, select_blocks, set_trainable
from visiona.tasks.classify import classification_loss, probabilities_from_logits


class ClassificationModule(OptimizedModule):
    """Trains ``network`` on ``(images (N, 3, H, W), labels (N,))`` batches.

    Args:
        network: Classifier returning logits ``(N, C)`` (or ``(N, 1)`` for binary BCE).
        config: The run's configuration (optimizer, schedule, loss, freezing...).
        num_classes: Classes in the dataset.
        mixer: Optional MixUp/CutMix callable applied to training batches.
    """

    def __init__(
        self, network: nn.Module, config: TrainConfig, num_classes: int, mixer: Any = None
    ) -> None:
        super().__init__()
        self.network = network.train()
        self.config = config
        self.num_classes = num_classes
        self.mixer = mixer
        self.loss_fn = classification_loss(config.loss, config.label_smoothing)
        head_name, _ = find_head(network)
        self.head_prefix = head_name
        self.stage_two_blocks = (
            [name for name, _ in select_blocks(network, config.unfreeze)] if config.unfreeze else []
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network(images)

    def head_parameters(self) -> list[nn.Parameter]:
        return list(self.network.get_submodule(self.head_prefix).parameters())

    # -- freezing -------------------------------------------------------------------------
    def apply_freezing(self, epoch: int) -> None:
        """Freeze per the config for ``epoch``: head always trains; unfreeze-blocks join at
        ``unfreeze_epoch``; with ``freeze=none`` everything trains."""
        if self.config.freeze == "none":
            set_trainable(self.network, True)
            return
        set_trainable(self.network, False)
        set_trainable(self.network.get_submodule(self.head_prefix), True)
        if epoch >= self.config.unfreeze_epoch:
            for name in self.stage_two_blocks:
                set_trainable(self.network.get_submodule(name), True)

    def train(self, mode: bool = True) -> ClassificationModule:
        super().train(mode)
        if mode and self.config.freeze != "none":
            # Frozen blocks keep their BatchNorm statistics, as with Keras' trainable = False.
            for module in self.network.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm) and not any(
                    p.requires_grad for p in module.parameters()
                ):
                    module.eval()
        return self

    def on_train_epoch_start(self) -> None:
        seed_for_epoch(self.config.seed, self.current_epoch)
        self.apply_freezing(self.current_epoch)
        self.train(True)

    # -- steps ----------------------------------------------------------------------------
    def _accuracy(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        predictions = probabilities_from_logits(logits.float()).argmax(dim=1)
        return (predictions == labels).float().mean()

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
        images, labels = batch
        targets: torch.Tensor = labels
        if self.mixer is not None:
            images, targets = self.mixer(images, labels)
        logits = self.network(images)
        loss = self.loss_fn(logits, targets)
        self.log("train/loss", loss, on_step=False, on_epoch=True, prog_bar=True)
        self.log("train/acc", self._accuracy(logits, labels), on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> None:
        images, labels = batch
        logits = self.network(images)
        loss = self.loss_fn(logits, labels)
        self.log("val/loss", loss, on_epoch=True, prog_bar=True)
        self.log("val/acc", self._accuracy(logits, labels), on_epoch=True, prog_bar=True)
