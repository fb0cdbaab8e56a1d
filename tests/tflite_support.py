"""Helpers shared by the TFLite tests."""

from __future__ import annotations

from pathlib import Path


def foreign_copy(exported: Path, folder: Path) -> Path:
    """The same network with its ``visiona`` metadata entry renamed: a file visiona did not
    write (what a model from another tool looks like to the reader)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    from visiona.models.tflite.format import METADATA_NAME

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(exported.read_bytes(), 0))
    for entry in model.metadata:
        if entry.name in (METADATA_NAME, METADATA_NAME.encode()):
            entry.name = "somebody-else"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path = folder / "foreign.tflite"
    path.write_bytes(bytes(builder.Output()))
    return path
