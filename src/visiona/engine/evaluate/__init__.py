"""Evaluate mode: one module per task family (``classify``, ``detect``) and their progress bar."""

from visiona.engine.evaluate.classify import EvaluationReport, evaluate_classifier
from visiona.engine.evaluate.detect import DetectionEvaluation, evaluate_detector

__all__ = ["DetectionEvaluation", "EvaluationReport", "evaluate_classifier", "evaluate_detector"]
