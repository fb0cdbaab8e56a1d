"""What every task family's training run shares: the run folder, seeded loaders, the prepared run.

Each family prepares a :class:`PreparedRun` (classification in :mod:`visiona.engine.train.fit`,
detection in :mod:`visiona.engine.train.detect_run`); :func:`visiona.engine.train.fit.train` fits it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visiona.errors import UsageError

if TYPE_CHECKING:
    from visiona.data.dataset import BadImage
    from visiona.engine.train.config import TrainConfig


def new_run_dir(project: Path, name: str | None, task: str = "classify") -> Path:
    """``project/<task>/<name>``; an existing name gets a ``-2``, ``-3``... suffix."""
    base = project / task
    name = name or "train"
    if not re.fullmatch(r"[\w.-]+", name):
        raise UsageError(f"run name {name!r} may only hold letters, digits, '.', '_' and '-'")
    candidate, counter = base / name, 2
    while candidate.exists():
        candidate, counter = base / f"{name}-{counter}", counter + 1
    candidate.mkdir(parents=True)
    return candidate


def epoch_seeded_loaders(
    config: TrainConfig, train_set: Any, val_set: Any, start_epoch: int = 0, collate_fn: Any = None
) -> tuple[Any, Any]:
    """Train and val DataLoaders whose randomness depends only on (seed, epoch): exact resume.

    Shared by every task; ``collate_fn`` keeps detection batches as lists.
    """
    import torch
    from torch.utils.data import DataLoader

    from visiona.engine.train.callbacks import EpochSeededSampler

    common = {
        "batch_size": config.batch_size,
        "num_workers": config.workers,
        # Fresh workers each epoch are seeded from that epoch's reseeded RNG: exact resume.
        "persistent_workers": False,
        "pin_memory": torch.cuda.is_available(),
        "collate_fn": collate_fn,
    }
    sampler = EpochSeededSampler(len(train_set), config.seed, start_epoch)
    train_loader = DataLoader(
        train_set,
        sampler=sampler,
        generator=sampler.worker_seeds,
        drop_last=len(train_set) > config.batch_size,
        **common,
    )
    return train_loader, DataLoader(val_set, shuffle=False, **common)


@dataclass
class PreparedRun:
    """Everything set up for fitting: run folder, data loaders, Lightning module, artefacts."""

    config: TrainConfig
    run_dir: Path
    splits: Any
    module: Any
    train_loader: Any
    val_loader: Any
    artifacts: Any
    skipped: list[BadImage]
    problems: list[Any] = field(default_factory=list)


def read_metrics(path: Path) -> dict[str, float]:
    """Metrics (and ``epoch``) of a ``best.json``/``last.json`` file; empty when missing."""
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return {**data.get("metrics", {}), "epoch": data.get("epoch", 0)}
