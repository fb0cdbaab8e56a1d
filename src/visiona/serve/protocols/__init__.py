"""Serving protocols other clients already speak: KServe v2 (Open Inference Protocol), TF-Serving.

Both go through the app's shared ``infer`` (same decoding, limits, batch queue and results as
visiona's own ``:predict``); only the request and response shapes differ.
"""
