"""ONNX files as models: the visiona graph convention (``format``), torch → ONNX (``convert``),
reading a file back (``read``) and ultralytics' detector exports (``ultralytics``)."""
