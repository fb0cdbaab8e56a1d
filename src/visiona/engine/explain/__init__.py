"""Explain mode: class-activation maps (``cam``), layer choice (``layers``), feature maps and
kernels (``features``), and the layer-by-layer summary (``summary``)."""
