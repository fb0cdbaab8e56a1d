"""Export mode: verified ONNX files (``onnx``) and their INT8 versions (``quantize``).

The torch → ONNX conversion itself and the readers of ONNX files (ours and ultralytics') live in
:mod:`visiona.models.onnx`, because the predict backends need them too.
"""

from visiona.engine.export.onnx import ExportReport, ExportVerificationError, export_onnx

__all__ = ["ExportReport", "ExportVerificationError", "export_onnx"]
