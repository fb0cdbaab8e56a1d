"""visiona checkpoints: a safetensors file whose metadata holds the model name and Weights record.

One self-describing file is enough to rebuild the model, preprocess its inputs and name its outputs:
``visiona predict classify --model run/best.safetensors``. Metadata is plain JSON text, so
nothing is unpickled on load.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visiona.errors import WeightsError
from visiona.io.atomic import atomic_path
from visiona.weights.record import Weights

if TYPE_CHECKING:
    import torch
    from torch import nn

FORMAT = "visiona.checkpoint/1"


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint says about itself."""

    architecture: str
    weights: Weights
    extra: dict[str, Any] = field(default_factory=dict)
    arch_options: dict[str, Any] = field(default_factory=dict)
    num_outputs: int | None = None

    @property
    def outputs(self) -> int:
        """Output units of the network: one per class, or one logit for binary BCE models."""
        return self.num_outputs or self.weights.num_classes


def checkpoint_path(path: str | Path) -> Path | None:
    """The checkpoint file ``path`` refers to (``run/best`` finds ``run/best.safetensors``), or None."""
    candidate = Path(path).expanduser()
    if candidate.is_file() and candidate.suffix == ".safetensors":
        return candidate
    with_suffix = candidate.with_name(candidate.name + ".safetensors")
    if with_suffix.is_file():
        return with_suffix
    return None


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    architecture: str,
    weights: Weights,
    extra: dict[str, Any] | None = None,
    arch_options: dict[str, Any] | None = None,
    num_outputs: int | None = None,
) -> Path:
    """Write ``model``'s parameters and its description to ``path`` (``.safetensors``).

    The file is written beside its destination and renamed into place, so an interrupted save
    never leaves half a checkpoint.
    """
    from safetensors.torch import save_model

    path = Path(path)
    if path.suffix != ".safetensors":
        path = path.with_name(path.name + ".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {
        "format": FORMAT,
        "architecture": architecture,
        "weights": weights.to_json(),
        "extra": json.dumps(extra or {}),
        "architecture_options": json.dumps(arch_options or {}),
        "num_outputs": str(num_outputs or weights.num_classes),
    }
    with atomic_path(path) as partial:
        save_model(model, str(partial), metadata=metadata)
    return path


def read_checkpoint_info(path: str | Path) -> CheckpointInfo:
    """Read only the metadata of a checkpoint (cheap: the tensors are not loaded)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except (SafetensorError, OSError, ValueError) as error:
        raise WeightsError(f"{path}: not a valid safetensors file ({error})") from None
    if metadata.get("format") != FORMAT:
        raise WeightsError(
            f"{path}: not a visiona checkpoint (no visiona metadata)",
            hint="plain weight files go with --weights FILE next to --model NAME",
        )
    try:
        weights = Weights.from_json(metadata["weights"])
        extra = json.loads(metadata.get("extra", "{}"))
        arch_options = json.loads(metadata.get("architecture_options", "{}"))
        num_outputs = int(metadata["num_outputs"]) if "num_outputs" in metadata else None
    except (KeyError, ValueError, TypeError) as error:
        raise WeightsError(f"{path}: damaged visiona metadata ({error})") from None
    return CheckpointInfo(
        architecture=metadata["architecture"],
        weights=weights,
        extra=extra,
        arch_options=arch_options,
        num_outputs=num_outputs,
    )


def load_checkpoint_tensors(path: str | Path) -> dict[str, torch.Tensor]:
    """All tensors of a checkpoint, on the CPU."""
    from visiona.weights.loading import load_state_dict

    return load_state_dict(Path(path))
