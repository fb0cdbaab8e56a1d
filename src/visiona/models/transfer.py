"""Transfer learning on any classifier: a new head, a frozen backbone, blocks to unfreeze.

The head is the last ``nn.Linear`` of the network (timm, torchvision, EfficientNet-Lite and the
from-scratch CNN all end in one). Blocks are the network's top-level children in order, with a
list-like child (``features``, ``layer4``'s parent ``_blocks``...) expanded into its items, so
``last:2`` means the last two parameterised stages before the head.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from visiona.errors import UsageError

if TYPE_CHECKING:
    from torch import nn


def find_head(module: nn.Module) -> tuple[str, nn.Linear]:
    """Name and layer of the classifier head (the last ``nn.Linear``)."""
    from torch import nn

    head = None
    for name, child in module.named_modules():
        if isinstance(child, nn.Linear):
            head = (name, child)
    if head is None:
        raise UsageError(f"{type(module).__name__} has no linear classifier head to replace")
    return head


def replace_head(module: nn.Module, num_outputs: int) -> nn.Linear:
    """Swap the head for a freshly initialised ``nn.Linear(in_features, num_outputs)``."""
    from torch import nn

    name, old = find_head(module)
    new = nn.Linear(old.in_features, num_outputs, bias=old.bias is not None)
    parent = module.get_submodule(name.rpartition(".")[0]) if "." in name else module
    setattr(parent, name.rpartition(".")[2], new)
    return new


def backbone_blocks(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """Ordered parameterised blocks before the head, as ``(qualified name, module)``."""
    from torch import nn

    head_name, _ = find_head(module)
    total = sum(p.numel() for p in module.parameters()) or 1
    blocks: list[tuple[str, nn.Module]] = []

    def add(name: str, child: nn.Module, depth: int, in_list: bool = False) -> None:
        if name == head_name:
            return
        size = sum(p.numel() for p in child.parameters())
        if size == 0:
            return
        is_list = isinstance(child, nn.ModuleList | nn.Sequential) and len(child) > 1
        holds_head = head_name.startswith(name + ".")
        # Descend into lists (stages), into the part holding the head, and into a wrapper that
        # holds most of the network (ViT's encoder), but only two levels deep.
        wrapper = depth == 0 and size > total / 2 and any(True for _ in child.children())
        if depth < 2 and ((is_list and not in_list) or holds_head or wrapper):
            for child_name, grandchild in child.named_children():
                add(f"{name}.{child_name}", grandchild, depth + 1, in_list=is_list)
        else:
            blocks.append((name, child))

    for name, child in module.named_children():
        add(name, child, 0)
    return blocks


def set_trainable(module: nn.Module, trainable: bool) -> None:
    for parameter in module.parameters():
        parameter.requires_grad_(trainable)


def freeze_backbone(module: nn.Module) -> None:
    """Freeze everything but the head. BatchNorm statistics are frozen too (eval mode is set by
    the training engine for frozen blocks), as in Keras' ``trainable = False``."""
    set_trainable(module, False)
    set_trainable(find_head(module)[1], True)


def select_blocks(module: nn.Module, spec: str) -> list[tuple[str, nn.Module]]:
    """Blocks named by ``spec``: ``last:N`` or comma-separated block-name prefixes/globs.

    Raises:
        UsageError: Malformed spec or a name that matches no block (the known names are listed).
    """
    import fnmatch

    blocks = backbone_blocks(module)
    spec = spec.strip()
    if match := re.fullmatch(r"last:(\d+)", spec):
        count = int(match.group(1))
        if count < 1:
            raise UsageError("--unfreeze last:N needs N >= 1")
        return blocks[-count:]
    chosen = []
    for pattern in (p.strip() for p in spec.split(",") if p.strip()):
        hits = [
            (name, block)
            for name, block in blocks
            if fnmatch.fnmatchcase(name, pattern)
            or name.startswith(pattern + ".")
            or name == pattern
        ]
        if not hits:
            names = ", ".join(name for name, _ in blocks[-8:])
            raise UsageError(
                f"--unfreeze {pattern!r} matches no block",
                hint=f"use last:N or block names; the last blocks are: {names}",
            )
        chosen.extend(hit for hit in hits if hit not in chosen)
    if not chosen:
        raise UsageError(f"invalid --unfreeze {spec!r}; use last:N or block names")
    return chosen
