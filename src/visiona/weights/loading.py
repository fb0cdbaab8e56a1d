"""Safe loading of parameter files: safetensors, or pickles restricted to plain tensors.

visiona never unpickles arbitrary objects: ``.pt``/``.pth``/``.bin`` files go through
``torch.load(weights_only=True)``, which refuses code and custom classes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from visiona.errors import WeightsError

if TYPE_CHECKING:
    import torch

_NESTED_KEYS = ("state_dict", "model_state_dict", "model", "module")


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state dict (name → tensor) from ``path`` on the CPU.

    Raises:
        WeightsError: The file is missing, unreadable, or holds more than plain tensors.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {str(path)!r}")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as error:
            raise WeightsError(f"{path}: not a valid safetensors file ({error})") from None
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several unpickling error types
        first_line = (
            str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        )
        raise WeightsError(
            f"{path}: refusing to load: not a plain tensor file ({first_line})",
            hint="save a state_dict with torch.save(model.state_dict(), ...) or use safetensors",
        ) from None
    for key in _NESTED_KEYS:
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            data = data[key]
            break
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise WeightsError(f"{path}: does not hold a state dict of tensors")
    return data
