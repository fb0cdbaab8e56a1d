"""DINOv2, CLIP and SigLIP through Hugging Face ``transformers``, from pinned hub snapshots.

:data:`HUB_MODELS` names each model's repository, pinned revision and files (sha256 where
published); :func:`load_hub_embedder` resolves the snapshot (cache → download → actionable
error, :mod:`visiona.weights.hub`) and wraps the network as an :class:`HubEmbedder`:
``(N, 3, H, W)`` normalised pixels → ``(N, D)`` image features, plus ``encode_text`` for the
CLIP/SigLIP text towers. Tests build tiny random configs with transformers' config classes and
save them as a snapshot folder; the loading code is the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visiona.errors import MissingDependencyError, UsageError
from visiona.weights.hub import HubSnapshot, hub_offline, resolve_snapshot
from visiona.weights.record import IMAGENET_MEAN, IMAGENET_STD, Preprocessing, Weights

if TYPE_CHECKING:
    import torch
    from rich.console import Console
    from torch import nn

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
KINDS = ("clip", "dinov2", "siglip")


@dataclass(frozen=True)
class HubModel:
    """One transformers model in the catalogue."""

    name: str
    kind: str
    snapshot: HubSnapshot
    license: str
    description: str


# CLIP's revision and tokenizer digests are the published ones (pinned commit of
# openai/clip-vit-base-patch32); digests left as None are recorded on first pull.
_CLIP_FILES = (
    ("config.json", None),
    ("model.safetensors", None),
    ("preprocessor_config.json", None),
    ("tokenizer_config.json", None),
    ("special_tokens_map.json", None),
    ("vocab.json", "5047b556ce86ccaf6aa22b3ffccfc52d391ea4accdab9c2f2407da5b742d4363"),
    ("merges.txt", "f526393189112391ce6f9795d4695f704121ce452c3aad1f5335cc41337eba85"),
)
_IMAGE_FILES = (("config.json", None), ("model.safetensors", None))

HUB_MODELS: dict[str, HubModel] = {
    model.name: model
    for model in (
        HubModel(
            "clip-vit-b32",
            "clip",
            HubSnapshot(
                "openai/clip-vit-base-patch32",
                "3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268",
                _CLIP_FILES,
            ),
            "MIT",
            "CLIP ViT-B/32 image and text towers (512-d); zero-shot classification, text search",
        ),
        HubModel(
            "dinov2-small",
            "dinov2",
            HubSnapshot("facebook/dinov2-small", "main", _IMAGE_FILES),
            "Apache-2.0",
            "DINOv2 ViT-S/14 self-supervised features (384-d)",
        ),
        HubModel(
            "dinov2-base",
            "dinov2",
            HubSnapshot("facebook/dinov2-base", "main", _IMAGE_FILES),
            "Apache-2.0",
            "DINOv2 ViT-B/14 self-supervised features (768-d)",
        ),
        HubModel(
            "siglip-base",
            "siglip",
            HubSnapshot(
                "google/siglip-base-patch16-224",
                "main",
                (
                    *_IMAGE_FILES,
                    ("preprocessor_config.json", None),
                    ("tokenizer_config.json", None),
                    ("special_tokens_map.json", None),
                    ("spiece.model", None),
                ),
            ),
            "Apache-2.0",
            "SigLIP B/16 image and text towers (768-d)",
        ),
    )
}
ALIASES = {"clip": "clip-vit-b32", "dinov2": "dinov2-small", "siglip": "siglip-base"}


def hub_model(name: str) -> HubModel | None:
    """The catalogue entry for ``name`` (aliases: ``clip``, ``dinov2``, ``siglip``), or None."""
    return HUB_MODELS.get(ALIASES.get(name, name))


def _transformers():
    try:
        import transformers
    except ImportError:
        raise MissingDependencyError(
            "CLIP, DINOv2 and SigLIP need the transformers library",
            hint='install it with: pip install "visiona[embed]"',
        ) from None
    return transformers


def network_class(kind: str) -> Any:
    """The transformers model class of ``kind``."""
    transformers = _transformers()
    return {
        "clip": transformers.CLIPModel,
        "dinov2": transformers.Dinov2Model,
        "siglip": transformers.SiglipModel,
    }[kind]


def _embedder_class():
    from torch import nn

    class _HubEmbedder(nn.Module):
        """A transformers model as an embedder: ``(N, 3, H, W)`` → ``(N, D)`` image features.

        Args:
            network: ``CLIPModel``, ``Dinov2Model`` or ``SiglipModel``.
            kind: ``clip``, ``dinov2`` or ``siglip``.
            tokenizer: The text tokenizer (CLIP/SigLIP), for :meth:`encode_text`.
        """

        def __init__(self, network: nn.Module, kind: str, tokenizer: Any = None) -> None:
            super().__init__()
            self.network = network
            self.kind = kind
            self.tokenizer = tokenizer

        @property
        def supports_text(self) -> bool:
            return self.kind in ("clip", "siglip") and self.tokenizer is not None

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            if self.kind == "dinov2":
                return self.network(pixel_values=pixels).pooler_output  # CLS after layer norm
            vision = self.network.vision_model(pixel_values=pixels).pooler_output
            if self.kind == "clip":
                return self.network.visual_projection(vision)
            return vision

        def encode_text(self, texts: list[str]) -> torch.Tensor:
            """``len(texts)`` strings → ``(T, D)`` text features in the image space."""
            import torch

            if not self.supports_text:
                raise UsageError(f"{self.kind} has no text tower; use a CLIP or SigLIP model")
            padding = "max_length" if self.kind == "siglip" else True
            tokens = self.tokenizer(
                list(texts), padding=padding, truncation=True, return_tensors="pt"
            )
            with torch.inference_mode():
                text = self.network.text_model(
                    input_ids=tokens["input_ids"], attention_mask=tokens.get("attention_mask")
                ).pooler_output
                if self.kind == "clip":
                    text = self.network.text_projection(text)
            return text.float()

    return _HubEmbedder


def build_network(kind: str, config: dict[str, Any]) -> nn.Module:
    """A randomly initialised network of ``kind`` from its config dict (checkpoint rebuilds)."""
    cls = network_class(kind)
    config_class = cls.config_class
    return _embedder_class()(cls(config_class.from_dict(dict(config))), kind)


def preprocessing_for(kind: str, folder: Path, config: Any) -> Preprocessing:
    """The image preprocessing of a snapshot: its ``preprocessor_config.json`` if present, else
    the model family's published defaults at the config's image size."""
    try:
        processor = json.loads((folder / "preprocessor_config.json").read_text())
    except (OSError, ValueError):
        processor = {}
    vision = getattr(config, "vision_config", config)
    default = int(getattr(vision, "image_size", 224))
    default = min(default, 224) if kind == "dinov2" else default
    crop = processor.get("crop_size") or processor.get("size") or default
    if isinstance(crop, dict):
        crop = crop.get("height") or crop.get("shortest_edge") or default
    crop = int(crop)
    mean = CLIP_MEAN if kind == "clip" else (0.5,) * 3 if kind == "siglip" else IMAGENET_MEAN
    std = CLIP_STD if kind == "clip" else (0.5,) * 3 if kind == "siglip" else IMAGENET_STD
    mean = tuple(processor.get("image_mean", mean))
    std = tuple(processor.get("image_std", std))
    if kind == "siglip":
        return Preprocessing((crop, crop), "stretch", None, "bicubic", mean, std)
    resize = crop if kind == "clip" else round(crop * 256 / 224)
    return Preprocessing((crop, crop), "shorter_side_center_crop", resize, "bicubic", mean, std)


def load_snapshot_folder(kind: str, folder: Path) -> nn.Module:
    """Load the network (and tokenizer) of ``kind`` from a local snapshot folder, offline."""
    transformers = _transformers()
    bars = transformers.utils.logging.is_progress_bar_enabled()
    transformers.utils.logging.disable_progress_bar()  # our own output stays readable
    try:
        with hub_offline():
            network = network_class(kind).from_pretrained(str(folder), local_files_only=True)
            tokenizer = None
            if kind in ("clip", "siglip"):
                tokenizer = transformers.AutoTokenizer.from_pretrained(
                    str(folder), local_files_only=True
                )
    finally:
        if bars:
            transformers.utils.logging.enable_progress_bar()
    return _embedder_class()(network.eval(), kind, tokenizer)


def load_hub_embedder(
    name: str,
    *,
    folder: str | Path | None = None,
    console: Console | None = None,
) -> tuple[nn.Module, Weights, str, dict[str, Any]]:
    """``(module, weights, origin, arch_options)`` of catalogue model ``name``.

    Args:
        name: ``clip-vit-b32``, ``dinov2-small``, ``dinov2-base``, ``siglip-base`` (or the
            aliases ``clip``, ``dinov2``, ``siglip``).
        folder: A local snapshot folder to use instead of the cache (``--weights DIR``).

    Raises:
        WeightsUnavailableError: Not in the cache and not downloadable (sub-second offline).
    """
    model = hub_model(name)
    if model is None:
        raise UsageError(f"{name!r} is not a transformers model in the catalogue")
    if folder is not None:
        path, origin = Path(folder).expanduser(), "file"
        if not path.is_dir():
            raise UsageError(f"--weights for {model.name} must be a snapshot folder: {path}")
    else:
        path, origin = resolve_snapshot(model.name, model.snapshot, console=console)
    module = load_snapshot_folder(model.kind, path)
    config = module.network.config
    weights = Weights(
        model=model.name,
        tag=model.snapshot.revision[:12] if origin != "file" else "file",
        task="embed",
        urls=(f"hf://{model.snapshot.repo_id}@{model.snapshot.revision}/model.safetensors",),
        file_format="safetensors",
        preprocessing=preprocessing_for(model.kind, path, config),
        license=model.license,
        description=model.description,
    )
    options = {"kind": model.kind, "config": config.to_dict()}
    return module, weights, origin, options


# Prompt-template ensembling (Radford et al. 2021, a short subset of their 80 ImageNet prompts).
PROMPT_TEMPLATES = (
    "a photo of a {}.",
    "a bad photo of a {}.",
    "a photo of the large {}.",
    "a photo of the small {}.",
    "a cropped photo of a {}.",
    "a close-up photo of a {}.",
    "a bright photo of a {}.",
    "a drawing of a {}.",
)


def check_labels(labels: list[str]) -> list[str]:
    """Stripped labels; empty lists, empty labels and duplicates are usage errors."""
    cleaned = [label.strip() for label in labels]
    if not cleaned or any(not label for label in cleaned):
        raise UsageError(
            "zero-shot classification needs a list of non-empty labels",
            hint='e.g. --labels "cat,dog,car" or --labels-file labels.txt (one per line)',
        )
    seen: set[str] = set()
    duplicates = sorted({label for label in cleaned if label in seen or seen.add(label)})
    if duplicates:
        raise UsageError(f"duplicate label(s): {', '.join(duplicates)}")
    return cleaned


def text_embeddings(
    embedder: Any, labels: list[str], templates: tuple[str, ...] = PROMPT_TEMPLATES
) -> torch.Tensor:
    """``(C, D)`` unit vectors: per label, the mean of its normalised prompt embeddings."""
    from torch.nn import functional as F

    prompts = [template.format(label) for label in labels for template in templates]
    features = F.normalize(embedder.encode_text(prompts), dim=-1)
    per_label = features.reshape(len(labels), len(templates), -1).mean(dim=1)
    return F.normalize(per_label, dim=-1)


def zero_shot_classifier(embedder: Any, labels: list[str], templates=PROMPT_TEMPLATES):
    """An ``nn.Module``: ``(N, 3, H, W)`` → ``(N, C)`` logits = scale × cosine(image, label)."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class ZeroShotClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedder = embedder
            self.register_buffer("label_vectors", text_embeddings(embedder, labels, templates))
            scale = getattr(embedder.network, "logit_scale", None)
            value = float(scale.detach().exp()) if scale is not None else 100.0
            self.register_buffer("scale", torch.tensor(min(value, 100.0)))

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            image = F.normalize(self.embedder(pixels), dim=-1)
            return self.scale * image @ self.label_vectors.T

    return ZeroShotClassifier().eval()
