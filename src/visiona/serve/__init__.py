"""The REST server: FastAPI app, micro-batching queue, input limits and model manager.

Needs the ``serve`` extra: ``pip install 'visiona[serve]'``.
"""
