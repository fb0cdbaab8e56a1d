"""Predict mode: one :class:`Predictor` for every task (decode → preprocess → backend → result).

``predictor`` holds the Predictor; ``backends`` the runtimes (torch, compiled, onnx, packaged);
``onnx_backend`` ONNX Runtime; ``packaged`` the backend for packaged perception models.
"""

from visiona.data.sources import gather_inputs
from visiona.engine.predict.packaged import PerceptionPredictor
from visiona.engine.predict.predictor import PredictionItem, Predictor

__all__ = ["PerceptionPredictor", "PredictionItem", "Predictor", "gather_inputs"]
