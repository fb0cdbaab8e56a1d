"""Look at an embedding space: a 2-D map (t-SNE, UMAP or PCA) and a TensorBoard projector export.

The map PNG shows each image as a thumbnail at its 2-D position (up to :data:`MAX_THUMBNAILS`
images) or as a dot coloured by its label (the image's sub-folder, for class-per-folder data).
The projector folder holds ``vectors.tsv``, ``metadata.tsv``, ``sprite.png`` and
``projector_config.pbtxt``: ``tensorboard --logdir DIR`` (Projector tab) or
projector.tensorflow.org loads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from visiona.errors import MissingDependencyError, UsageError

METHODS = ("tsne", "umap", "pca")
MAX_THUMBNAILS = 400
SPRITE_TILE = 32


def project_2d(vectors: np.ndarray, method: str = "tsne", seed: int = 0) -> np.ndarray:
    """``(N, D)`` → ``(N, 2)`` coordinates."""
    vectors = np.asarray(vectors, np.float32)
    count = len(vectors)
    if method not in METHODS:
        raise UsageError(f"unknown --method {method!r}; use one of {', '.join(METHODS)}")
    if count < 3:
        raise UsageError(f"a map needs at least 3 images, got {count}")
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(2, random_state=seed).fit_transform(vectors)
    if method == "umap":
        try:
            import umap
        except ImportError:
            raise MissingDependencyError(
                "--method umap needs umap-learn",
                hint="pip install umap-learn, or use --method tsne",
            ) from None
        return umap.UMAP(n_neighbors=min(15, count - 1), random_state=seed).fit_transform(vectors)
    from sklearn.manifold import TSNE

    perplexity = float(min(30, max(2, (count - 1) / 3)))
    return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(vectors)


def _thumb(path: Path, size: int) -> np.ndarray:
    from PIL import Image

    from visiona.io.images import load_image

    image = Image.fromarray(load_image(path).array)
    image.thumbnail((size, size))
    return np.asarray(image)


def plot_map(
    points: np.ndarray,
    paths: Sequence[Path],
    labels: Sequence[str],
    output: Path,
    *,
    thumbnails: bool = True,
    title: str = "",
) -> Path:
    """Draw the 2-D map PNG: thumbnails (few images) or dots coloured by label."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import pyplot as plt
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage

    figure, axes = plt.subplots(figsize=(10, 10), dpi=100)
    names = sorted(set(labels))
    colours = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    for number, name in enumerate(names):
        chosen = [i for i, label in enumerate(labels) if label == name]
        axes.scatter(*points[chosen].T, s=12, color=colours(number % colours.N), label=name)
    if thumbnails and len(paths) <= MAX_THUMBNAILS:
        for point, path, label in zip(points, paths, labels, strict=True):
            number = names.index(label)
            box = OffsetImage(_thumb(path, 48), zoom=0.6)
            frame = {"edgecolor": colours(number % colours.N), "linewidth": 1.5}
            axes.add_artist(AnnotationBbox(box, point, frameon=True, bboxprops=frame, pad=0.1))
    if 1 < len(names) <= 20:
        axes.legend(loc="best", fontsize=8)
    axes.set_title(title)
    axes.set_xticks([])
    axes.set_yticks([])
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, bbox_inches="tight")
    plt.close(figure)
    return output


def write_projector(
    folder: Path, vectors: np.ndarray, paths: Sequence[Path], labels: Sequence[str]
) -> Path:
    """A TensorBoard projector folder: vectors, metadata (label, file), sprite and config."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    np.savetxt(folder / "vectors.tsv", np.asarray(vectors, np.float32), delimiter="\t", fmt="%.6f")
    rows = [
        "label\tfile",
        *(f"{label}\t{path.name}" for label, path in zip(labels, paths, strict=True)),
    ]
    (folder / "metadata.tsv").write_text("\n".join(rows) + "\n")
    side = int(np.ceil(np.sqrt(len(paths))))
    sprite = Image.new("RGB", (side * SPRITE_TILE, side * SPRITE_TILE), (255, 255, 255))
    for number, path in enumerate(paths):
        tile = Image.fromarray(_thumb(path, SPRITE_TILE)).resize((SPRITE_TILE, SPRITE_TILE))
        sprite.paste(tile, ((number % side) * SPRITE_TILE, (number // side) * SPRITE_TILE))
    sprite.save(folder / "sprite.png")
    (folder / "projector_config.pbtxt").write_text(
        "embeddings {\n"
        '  tensor_name: "visiona"\n'
        '  tensor_path: "vectors.tsv"\n'
        '  metadata_path: "metadata.tsv"\n'
        "  sprite {\n"
        '    image_path: "sprite.png"\n'
        f"    single_image_dim: {SPRITE_TILE}\n"
        f"    single_image_dim: {SPRITE_TILE}\n"
        "  }\n"
        "}\n"
    )
    return folder
