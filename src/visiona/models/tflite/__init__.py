"""TFLite (LiteRT) files as models: the visiona convention (``format``), torch → TFLite
(``convert``) and reading a file back, ours or foreign (``read``)."""
