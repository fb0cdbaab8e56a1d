"""Lightning modules: one base with the optimisation every task shares, one subclass per family.

:class:`OptimizedModule` owns optimisers, schedules, parameter groups (head vs backbone learning
rates) and per-epoch seeding; :class:`ClassificationModule` adds the classifier's steps, freezing
and MixUp/CutMix; :class:`visiona.engine.train.detect.DetectionModule` the detectors' steps and
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

from visiona.engine.train.config import TrainConfig


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
