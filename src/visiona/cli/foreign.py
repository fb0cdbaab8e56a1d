"""Options that describe a foreign ``.tflite`` file's preprocessing (``--input-size/--mean/--std``)."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from visiona.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from visiona.models.load import LoadedModel
    from visiona.models.tflite.read import ForeignPreprocessing

INPUT_SIZE_HELP = "Foreign .tflite only: input H,W (or one number), default the tensor's."
MEAN_HELP = "Foreign .tflite only: per-channel mean r,g,b on [0,1] (default 0,0,0)."
STD_HELP = "Foreign .tflite only: per-channel std r,g,b on [0,1] (default 1,1,1)."


def _floats(text: str, option: str, count: tuple[int, ...]) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        raise UsageError(f"{option} takes comma-separated numbers, got {text!r}") from None
    if len(values) not in count:
        raise UsageError(f"{option} takes {' or '.join(map(str, count))} numbers, got {text!r}")
    return values


def foreign_preprocessing(
    model: str | None, input_size: str | None, mean: str | None, std: str | None
) -> ForeignPreprocessing | None:
    """Parse the three options; ``None`` when none is given.

    Raises:
        UsageError: Options given for a model that is not a ``.tflite`` file, or bad numbers.
    """
    if input_size is None and mean is None and std is None:
        return None
    if not (model or "").endswith(".tflite"):
        raise UsageError(
            "--input-size, --mean and --std describe a foreign .tflite file",
            hint="visiona models carry their preprocessing; pass --model FILE.tflite",
        )
    from visiona.models.tflite.read import ForeignPreprocessing

    size = None
    if input_size is not None:
        numbers = _floats(input_size, "--input-size", (1, 2))
        if min(numbers) < 1 or any(n != int(n) for n in numbers):
            raise UsageError(f"--input-size takes positive whole numbers, got {input_size!r}")
        size = (int(numbers[0]), int(numbers[-1]))
    mean_values = _floats(mean, "--mean", (1, 3)) if mean is not None else None
    std_values = _floats(std, "--std", (1, 3)) if std is not None else None
    if std_values is not None and min(std_values) <= 0:
        raise UsageError(f"--std must be positive, got {std!r}")
    return ForeignPreprocessing(
        input_size=size,
        mean=_three(mean_values),
        std=_three(std_values),
    )


def _three(values: tuple[float, ...] | None) -> tuple[float, float, float] | None:
    if values is None:
        return None
    return (values[0], values[0], values[0]) if len(values) == 1 else values  # type: ignore[return-value]


def load_tflite_for_cli(
    model: str, task: str, foreign: ForeignPreprocessing | None, console: Console
) -> LoadedModel:
    """Load a ``.tflite`` model, printing the unknown-preprocessing warning as one line."""
    from visiona.models.load import load_model
    from visiona.models.tflite.read import UnknownPreprocessingWarning

    options: dict[str, Any] = {"foreign": foreign} if foreign else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnknownPreprocessingWarning)
        loaded = load_model(model, task=task, arch_options=options or None)
    for warning in caught:
        if issubclass(warning.category, UnknownPreprocessingWarning):
            console.print(f"warning: {warning.message}", markup=False)
    return loaded
