"""Train mode: ``fit`` (the Lightning run every family shares), ``run`` (run folder, loaders),
``module`` (the optimisation base), one module per task family (``classify``, ``detect`` +
``detect_run``), ``callbacks``, ``config`` and ``lr_find``."""

from visiona.engine.train.config import TrainConfig
from visiona.engine.train.fit import TrainingInterruptedError, TrainResult, resume_config, train
from visiona.engine.train.run import new_run_dir

__all__ = [
    "TrainConfig",
    "TrainResult",
    "TrainingInterruptedError",
    "new_run_dir",
    "resume_config",
    "train",
]
