"""Evaluation metrics beyond classification.

- :mod:`.detection`: COCO mAP / mAR for boxes and instance masks (torchmetrics with the
  pycocotools backend), per-class AP, precision-recall curves and a detection confusion matrix;
  :func:`~visiona.metrics.detection.evaluate_detections` returns a
  :class:`~visiona.metrics.detection.DetectionReport`. Ground truth comes in as
  :class:`~visiona.metrics.ground_truth.GroundTruth` (also importable from ``.detection``);
  :mod:`.matching` holds the COCO IoUs and the confusion-matrix matching.

Modules are imported on demand (they pull in numpy, torch and pycocotools).
"""
