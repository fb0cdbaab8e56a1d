"""Lightning modules: one base with the optimisation every task shares, one subclass per family.

:class:`OptimizedModule` owns optimisers, schedules, parameter groups (head vs backbone learning
rates) and per-epoch seeding; :class:`ClassificationModule` adds the classifier's steps, freezing
and MixUp/CutMix; :class:`visiona.engine.detection_module.DetectionModule` the detectors' steps and
COCO metrics.
"""

from __future__ import annotations

import math
import random
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from torch import nn

from visiona.engine.config import TrainConfig
from visiona.models.transfer import find_head, select_blocks, set_trainable
from visiona.tasks.classify import classification_loss, probabilities_from_logits


def seed_for_epoch(seed: int, epoch: int) -> None:
    """Seed Python, NumPy and torch from (seed, epoch): an epoch's randomness then depends on
    nothing else, so a resumed run repeats an uninterrupted one exactly."""
    value = (seed * 1_000_003 + epoch) % (2**31)
    random.seed(value)
    np.random.seed(value)
    torch.manual_seed(value)


class OptimizedModule(pl.LightningModule):
    """Optimisation shared by every task's module.

    Subclasses set ``self.network`` and ``self.config`` and implement :meth:`head_parameters`
    (the new, task-specific layers trained at ``lr``; the rest trains at ``backbone_lr``).
    """

    network: nn.Module
    config: TrainConfig

    def head_parameters(self) -> list[nn.Parameter]:
        """Parameters of the task head (the part trained at the full learning rate)."""
        raise NotImplementedError

    def parameter_groups(self) -> list[dict[str, Any]]:
        """Head at ``lr``; the rest at ``backbone_lr`` (default lr/10) when fine-tuning a
        pretrained model, else everything in one group at ``lr``. Frozen parameters are included (they get no gradient
        until unfrozen), so unfreezing later needs no change to the optimizer or schedule."""
        config = self.config
        head = self.head_parameters()
        head_ids = {id(p) for p in head}
        rest = [p for p in self.network.parameters() if id(p) not in head_ids]
        backbone_lr = config.backbone_lr
        if backbone_lr is None:
            backbone_lr = config.lr / 10 if config.pretrained else config.lr
        if backbone_lr == config.lr:
            # One rate for everything (training from scratch): one unnamed group, so logs and
            # curves show a plain "lr", not a "backbone" the model may not have.
            return [{"params": [*head, *rest], "lr": config.lr}]
        groups = [{"params": head, "lr": config.lr, "name": "head"}]
        if rest:
            groups.append({"params": rest, "lr": backbone_lr, "name": "backbone"})
        return groups

    def configure_optimizers(self) -> Any:
        config = self.config
        groups = self.parameter_groups()
        optim = torch.optim
        decay = config.weight_decay
        if config.optimizer == "sgd":
            optimizer = optim.SGD(
                groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov,
                weight_decay=decay,
            )  # fmt: skip
        elif config.optimizer == "adam":
            optimizer = optim.Adam(groups, lr=config.lr, weight_decay=decay)
        elif config.optimizer == "adamw":
            optimizer = optim.AdamW(groups, lr=config.lr, weight_decay=decay)
        elif config.optimizer == "rmsprop":
            optimizer = optim.RMSprop(
                groups, lr=config.lr, momentum=config.momentum, weight_decay=decay
            )
        elif config.optimizer == "adagrad":
            optimizer = optim.Adagrad(groups, lr=config.lr, weight_decay=decay)
        else:
            optimizer = optim.Adadelta(groups, lr=config.lr, weight_decay=decay)
        scheduler = self._scheduler(optimizer)
        if scheduler is None:
            return optimizer
        if config.schedule == "plateau":
            return {
                "optimizer": optimizer,
                "lr_scheduler": {
                    "scheduler": scheduler,
                    "monitor": config.monitor,
                    "interval": "epoch",
                },
            }
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"},
        }

    def _scheduler(self, optimizer: torch.optim.Optimizer) -> Any:
        config = self.config
        schedulers = torch.optim.lr_scheduler
        if config.schedule == "step":
            return schedulers.StepLR(optimizer, step_size=config.step_size, gamma=config.gamma)
        if config.schedule == "exponential":
            return schedulers.ExponentialLR(optimizer, gamma=config.gamma)
        if config.schedule == "plateau":
            mode = "min" if str(config.monitor).endswith("loss") else "max"
            return schedulers.ReduceLROnPlateau(
                optimizer, mode=mode, factor=config.gamma, patience=2
            )
        if config.schedule == "cosine":
            warmup, total = config.warmup_epochs, config.epochs

            def factor(epoch: int) -> float:
                if epoch < warmup:
                    return (epoch + 1) / (warmup + 1)
                progress = (epoch - warmup) / max(1, total - warmup)
                return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

            return schedulers.LambdaLR(optimizer, factor)
        return None


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
