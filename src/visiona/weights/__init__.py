"""Weights: the record that describes them, where they are found, and how they are loaded."""

from visiona.weights.record import IMAGENET_MEAN, IMAGENET_STD, Preprocessing, Weights

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "Preprocessing", "Weights"]
