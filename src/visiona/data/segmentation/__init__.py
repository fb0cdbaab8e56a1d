"""Semantic segmentation data: image/mask folder pairs, Pascal VOC, COCO rasterised."""
