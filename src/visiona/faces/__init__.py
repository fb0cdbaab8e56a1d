"""Face recognition: detect → landmarks → 3-point affine alignment → 128-d embedding → match."""
