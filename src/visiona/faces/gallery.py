"""A gallery of known people: embeddings with names and source files, saved as one ``.npz``.

``enroll`` reads a folder with one sub-folder per person (several photos each), embeds the
largest face of every photo, and records photos it had to skip. ``identify`` names each face of
an image by its nearest gallery embedding, or ``"unknown"`` when that is farther than the
threshold. The file holds only arrays and a JSON header (loaded with ``allow_pickle=False``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from visiona.errors import InputNotFoundError, UsageError, VisionaError
from visiona.faces.recognizer import DEFAULT_THRESHOLD, FaceRecognizer, distances
from visiona.io.atomic import atomic_path
from visiona.results.faces import Faces

FORMAT = "visiona-face-gallery/1"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Gallery:
    """Known faces.

    Attributes:
        embeddings: ``(M, 128)`` float32, one per enrolled photo.
        names: ``(M,)`` person name per embedding (the sub-folder name).
        sources: ``(M,)`` photo each embedding came from.
        detector: Detector used at enrolment (queries should use the same).
        skipped: Photos not enrolled, with the reason.
    """

    embeddings: np.ndarray
    names: tuple[str, ...]
    sources: tuple[str, ...]
    detector: str
    skipped: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        embeddings = np.asarray(self.embeddings, np.float32).reshape(-1, 128)
        object.__setattr__(self, "embeddings", embeddings)
        if not len(embeddings) == len(self.names) == len(self.sources):
            raise ValueError("gallery embeddings, names and sources disagree in length")

    @property
    def people(self) -> list[str]:
        return sorted(set(self.names))

    def save(self, path: Path) -> Path:
        """Write the gallery to ``path`` (``.npz``)."""
        header = {"format": FORMAT, "detector": self.detector, "skipped": list(self.skipped)}
        with atomic_path(path) as partial, partial.open("wb") as handle:
            np.savez(
                handle,
                embeddings=self.embeddings,
                names=np.array(self.names, dtype=str),
                sources=np.array(self.sources, dtype=str),
                header=np.array(json.dumps(header)),
            )
        return path

    @classmethod
    def load(cls, path: Path) -> Gallery:
        """Read a gallery written by :meth:`save`.

        Raises:
            InputNotFoundError: ``path`` does not exist.
            UsageError: The file is not a visiona face gallery.
        """
        if not path.is_file():
            raise InputNotFoundError(
                f"gallery not found: {str(path)!r}",
                hint="create one with: visiona faces enroll GALLERY_DIR --out gallery.npz",
            )
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                if header.get("format") != FORMAT:
                    raise ValueError(header.get("format"))
                return cls(
                    embeddings=data["embeddings"],
                    names=tuple(str(n) for n in data["names"]),
                    sources=tuple(str(s) for s in data["sources"]),
                    detector=header["detector"],
                    skipped=tuple(tuple(item) for item in header.get("skipped", [])),
                )
        except (OSError, ValueError, KeyError) as error:
            raise UsageError(
                f"{path} is not a visiona face gallery ({type(error).__name__})",
                hint="create one with: visiona faces enroll GALLERY_DIR --out gallery.npz",
            ) from None

    def match(
        self, embeddings: np.ndarray, threshold: float = DEFAULT_THRESHOLD
    ) -> tuple[tuple[str, ...], np.ndarray]:
        """Nearest person and distance per ``(N, 128)`` query; ``"unknown"`` beyond threshold."""
        if not len(embeddings):
            return (), np.zeros(0, np.float32)
        if not len(self.embeddings):
            raise UsageError("the gallery is empty; enrol some people first")
        table = distances(embeddings, self.embeddings)
        nearest = table.argmin(axis=1)
        best = table[np.arange(len(table)), nearest]
        names = tuple(
            self.names[i] if d <= threshold else UNKNOWN
            for i, d in zip(nearest.tolist(), best.tolist(), strict=True)
        )
        return names, best.astype(np.float32)


def person_folders(root: Path) -> list[Path]:
    """Sub-folders of ``root`` (one per person), sorted; refuses an empty or missing root."""
    if not root.is_dir():
        raise InputNotFoundError(
            f"gallery folder not found: {str(root)!r}",
            hint="expected GALLERY_DIR/PERSON_NAME/photo.jpg, one sub-folder per person",
        )
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise InputNotFoundError(
            f"{root} has no person sub-folders",
            hint="expected GALLERY_DIR/PERSON_NAME/photo.jpg, one sub-folder per person",
        )
    return folders


def enroll(
    root: Path,
    recognizer: FaceRecognizer,
    progress: Callable[[Path], Any] | None = None,
) -> Gallery:
    """Embed the largest face of every photo under ``root/PERSON/``.

    Args:
        root: Gallery folder with one sub-folder per person.
        recognizer: Detector + encoder to use.
        progress: Called once per photo after it is processed.

    Raises:
        InputNotFoundError: ``root`` is missing or has no person folders with images.
    """
    from visiona.data.sources import expand_inputs
    from visiona.io.images import load_image

    embeddings, names, sources, skipped = [], [], [], []
    for folder in person_folders(root):
        try:
            photos = expand_inputs([str(folder)])
        except InputNotFoundError:
            skipped.append((str(folder), "no images"))
            continue
        for photo in photos:
            try:
                encoded = recognizer.encode(load_image(photo).array)
            except VisionaError as error:
                skipped.append((str(photo), str(error.message)))
            else:
                index = encoded.largest()
                if index is None:
                    skipped.append((str(photo), "no face found"))
                else:
                    embeddings.append(encoded.embeddings[index])
                    names.append(folder.name)
                    sources.append(str(photo))
            if progress:
                progress(photo)
    if not embeddings:
        raise InputNotFoundError(
            f"no face could be enrolled from {root}",
            hint="each person folder needs photos with one visible face",
        )
    return Gallery(
        embeddings=np.asarray(embeddings), names=tuple(names), sources=tuple(sources),
        detector=recognizer.detector_name, skipped=tuple(skipped),
    )  # fmt: skip


def identify(
    image: np.ndarray,
    gallery: Gallery,
    recognizer: FaceRecognizer,
    threshold: float = DEFAULT_THRESHOLD,
) -> Faces:
    """The faces of one ``(H, W, 3)`` uint8 RGB image, named from ``gallery``."""
    import dataclasses

    encoded = recognizer.encode(image)
    names, best = gallery.match(encoded.embeddings, threshold)
    return dataclasses.replace(encoded.faces, identities=names, distances=best)
