"""Light heads on frozen embeddings: kNN, logistic regression or a linear layer, fitted in seconds.

``visiona train classify --backbone NAME --head knn|logistic|linear``: the images are embedded
once (vectors cached on disk by embedder and file content, :mod:`visiona.engine.embed.cache`),
the head is fitted on the cached vectors (kNN keeps them; scikit-learn fits the logistic
regression; full-batch L-BFGS fits the linear layer), the validation images are scored with the same
report as any classifier, and backbone + head are saved as one ordinary checkpoint.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from visiona.errors import InputNotFoundError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from visiona.engine.train.fit import TrainResult

LINEAR_STEPS = 100


@dataclass
class LightHeadConfig:
    """Options of a light-head run.

    Attributes:
        data: Image folder (class subfolders, or ``train/`` + ``val/``).
        backbone: Embedder name (see ``visiona predict embed --help``).
        head: ``knn``, ``logistic`` or ``linear``.
        k: Neighbours for kNN.
        regularization: Inverse regularisation strength ``C`` of logistic regression.
        lr: Step size of the linear head's full-batch L-BFGS (1.0 with a Wolfe line search).
        weight_decay: Weight decay of the linear head.
        val_fraction, test_fraction, seed: The split, as for any classify run.
        name, project: Run folder ``project/classify/name``.
        device, batch_size: Where and how the backbone embeds images.
        cache: Reuse cached vectors.
    """

    data: str = ""
    backbone: str = "efficientnet_lite0"
    head: str = "logistic"
    k: int = 10
    regularization: float = 10.0
    lr: float = 1.0
    weight_decay: float = 1e-4
    val_fraction: float = 0.2
    test_fraction: float = 0.0
    seed: int = 0
    name: str | None = None
    project: str = "runs"
    device: str = "auto"
    batch_size: int = 32
    cache: bool = True

    def validate(self) -> None:
        from visiona.models.light_head import HEADS

        if self.head not in HEADS:
            raise UsageError(f"--head must be one of {', '.join(HEADS)}, got {self.head!r}")
        if self.k < 1:
            raise UsageError("--k must be at least 1")
        if self.regularization <= 0 or self.lr <= 0:
            raise UsageError("the head's regularisation and learning rate must be positive")
        if not self.data:
            raise UsageError("no dataset given; pass --data DIR")


def fit_head(
    head: str,
    vectors: np.ndarray,
    labels: np.ndarray,
    num_classes: int,
    *,
    k: int = 10,
    regularization: float = 1.0,
    lr: float = 1.0,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> dict[str, Any]:
    """Fit a head on ``(N, D)`` unit vectors; returns the tensors of the head module.

    Returns:
        ``{"memory", "memory_labels"}`` for kNN, ``{"weight" (C, D), "bias" (C,)}`` otherwise.
    """
    import torch

    vectors = np.asarray(vectors, np.float32)
    labels = np.asarray(labels, np.int64)
    if head == "knn":
        return {"memory": torch.from_numpy(vectors), "memory_labels": torch.from_numpy(labels)}
    if head == "logistic":
        from sklearn.linear_model import LogisticRegression

        present = np.unique(labels)
        fitted = LogisticRegression(C=regularization, max_iter=2000, random_state=seed)
        fitted.fit(vectors, labels)
        weight = np.zeros((num_classes, vectors.shape[1]), np.float32)
        bias = np.full(num_classes, -1e4, np.float32)  # classes absent from training: never
        if len(present) == 2:  # scikit-learn keeps one row for two classes
            weight[present[1]], bias[present[1]] = fitted.coef_[0], fitted.intercept_[0]
            bias[present[0]] = 0.0
        else:
            weight[present], bias[present] = fitted.coef_, fitted.intercept_
        return {"weight": torch.from_numpy(weight), "bias": torch.from_numpy(bias)}
    generator = torch.Generator().manual_seed(seed)
    layer = torch.nn.Linear(vectors.shape[1], num_classes)
    with torch.no_grad():
        layer.weight.normal_(0, 0.01, generator=generator)
        layer.bias.zero_()
    # Unit vectors give tiny logits; the layer sees them scaled by 10 (folded back in below).
    inputs, targets = torch.from_numpy(vectors) * 10, torch.from_numpy(labels)
    # Full-batch L-BFGS: a convex problem, so a few dozen curvature-aware steps reach what
    # hundreds of AdamW steps do, at a fraction of the cost.
    optimizer = torch.optim.LBFGS(
        layer.parameters(), lr=lr, max_iter=LINEAR_STEPS, history_size=10,
        line_search_fn="strong_wolfe",
    )  # fmt: skip

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(layer(inputs), targets)
        loss = loss + weight_decay * layer.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return {"weight": layer.weight.detach() * 10, "bias": layer.bias.detach().clone()}


def train_light_head(config: LightHeadConfig, *, console: Console | None = None) -> TrainResult:
    """Embed, fit, evaluate and save a light-head classifier (see the module docstring).

    Raises:
        UsageError / InputNotFoundError: Bad options, or too few readable images.
        WeightsUnavailableError: The backbone's weights are not available offline.
    """
    import torch

    from visiona.data.dataset import BadImage
    from visiona.data.folder import load_splits
    from visiona.engine.embed.compute import embed_files
    from visiona.engine.evaluate.classify import report_from_probabilities
    from visiona.engine.predict.predictor import Predictor
    from visiona.engine.train.fit import TrainResult
    from visiona.engine.train.run import new_run_dir
    from visiona.models.light_head import ARCHITECTURE, embedding_classifier
    from visiona.weights.checkpoint import save_checkpoint
    from visiona.weights.record import Weights

    config.validate()
    splits = load_splits(
        config.data,
        val_fraction=config.val_fraction,
        test_fraction=config.test_fraction,
        seed=config.seed,
    )
    if not splits.train or not splits.val:
        raise UsageError(
            "the dataset is too small to split into train and validation images",
            hint="add images (at least two per class) or provide train/ and val/ folders",
        )
    predictor = Predictor.load(
        config.backbone, task="embed", device=config.device, batch_size=config.batch_size,
        console=console,
    )  # fmt: skip
    embedder = predictor.model
    if not hasattr(embedder.module, "parameters"):
        raise UsageError(f"--backbone {config.backbone}: light heads need a PyTorch embedder")
    run_dir = new_run_dir(Path(config.project), config.name, "classify")
    (run_dir / "split.json").write_text(splits.to_json())
    (run_dir / "light_head.json").write_text(json.dumps(config.__dict__, indent=1) + "\n")

    started = time.perf_counter()
    train = embed_files(
        predictor, [s.path for s in splits.train], use_cache=config.cache, console=console
    )
    val = embed_files(
        predictor, [s.path for s in splits.val], use_cache=config.cache, console=console
    )
    embed_seconds = time.perf_counter() - started
    if not len(train.paths) or not len(val.paths):
        raise InputNotFoundError("no readable training or validation images to fit a head on")
    label_of = {s.path: s.label for s in (*splits.train, *splits.val)}
    train_labels = np.array([label_of[p] for p in train.paths])
    val_labels = np.array([label_of[p] for p in val.paths])
    classes = splits.classes

    started = time.perf_counter()
    tensors = fit_head(
        config.head, train.vectors, train_labels, len(classes), k=config.k,
        regularization=config.regularization, lr=config.lr, weight_decay=config.weight_decay,
        seed=config.seed,
    )  # fmt: skip
    fit_seconds = time.perf_counter() - started
    feature_dim = int(train.vectors.shape[1])
    model = embedding_classifier(
        embedder.module, config.head, len(classes), feature_dim, len(train.paths), config.k
    )
    with torch.no_grad():
        for name, value in tensors.items():
            target = model.head if config.head != "knn" else model
            getattr(target, name).copy_(value)
    model.eval()
    with torch.inference_mode():
        logits = model.classify_features(torch.from_numpy(val.vectors))
    probabilities = logits.softmax(dim=1)

    from visiona.data.folder import Sample

    report = report_from_probabilities(
        probabilities, torch.from_numpy(val_labels),
        [Sample(p, int(label)) for p, label in zip(val.paths, val_labels, strict=True)],
        classes, out_dir=run_dir / "evaluation",
        architecture=f"{config.backbone} + {config.head}",
    )  # fmt: skip
    options: dict[str, Any] = {
        "backbone": embedder.architecture,
        "backbone_options": embedder.arch_options if "kind" not in embedder.arch_options else {},
        "head": config.head,
        "feature_dim": feature_dim,
        "memory_size": len(train.paths) if config.head == "knn" else 0,
        "k": config.k,
    }
    if "kind" in embedder.arch_options:  # transformers backbone: its config rebuilds it
        options["hub_kind"] = embedder.arch_options["kind"]
        options["hub_config"] = embedder.arch_options["config"]
    base = embedder.weights
    record = Weights(
        model=ARCHITECTURE,
        tag=run_dir.name,
        task="classify",
        preprocessing=base.preprocessing,
        class_names=classes,
        license=f"yours (trained with visiona); base weights {base.full_name}: {base.license}",
        description=f"{config.head} head on frozen {base.full_name} features, {config.data}",
    )
    true_p = probabilities.gather(1, torch.from_numpy(val_labels)[:, None]).clamp_min(1e-12)
    metrics = {
        "val/acc": report.accuracy,
        "val/loss": float(-true_p.log().mean()),
        "val/macro_f1": report.macro_f1,
        "fit_seconds": fit_seconds,
        "embed_seconds": embed_seconds,
        "embedded_now": float(train.computed + val.computed),
        "train_images": float(len(train.paths)),
    }
    best = save_checkpoint(
        run_dir / "best.safetensors", model, ARCHITECTURE, record,
        extra={"metrics": metrics}, arch_options=options,
    )  # fmt: skip
    (run_dir / "best.json").write_text(json.dumps({"epoch": 1, "metrics": metrics}, indent=1))
    skipped = [BadImage(str(p), reason) for p, reason in (*train.failed, *val.failed)]
    return TrainResult(
        run_dir=run_dir,
        best_checkpoint=best,
        last_checkpoint=None,
        best_metrics={**metrics, "epoch": 1},
        epochs_run=1,
        skipped=skipped,
        files=dict(report.files),
        task="classify",
    )
