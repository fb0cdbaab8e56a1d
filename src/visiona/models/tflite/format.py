"""What a visiona ``.tflite`` file is: its input convention and the metadata it carries.

A visiona TFLite classifier takes what a phone's camera pipeline hands over: **uint8 RGB pixels,
channels last**, ``pixels`` ``(1, H, W, 3)``, already resized as the Weights record says; the
graph converts to float, normalises (``x / 255``, ``(x - mean) / std``, channel order) and
returns ``logits`` ``(1, C)`` float32. Batch 1 is what mobile apps run; the Python backend loops
over larger batches.

The metadata is a flatbuffer ``Metadata`` entry named ``visiona`` (``Model.metadata`` in the
TFLite schema), holding the same JSON keys as an ONNX export's ``metadata_props``
(:func:`visiona.models.onnx.format.metadata_for`): ``visiona.weights`` (class names, input size,
resize rule, mean/std), ``visiona.resize``, ``visiona.task``... Any flatbuffer reader finds it;
:func:`read_metadata` is the Python one.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visiona.errors import MissingDependencyError
from visiona.weights.record import Weights

FORMAT = "visiona.tflite/1"
METADATA_NAME = "visiona"
INPUT_NAME = "pixels"
TFLITE_EXTRA = 'pip install "visiona[tflite]"'


def require_litert() -> Any:
    """Import ``ai_edge_litert``'s interpreter module or explain which extra installs it."""
    try:
        from ai_edge_litert import interpreter
    except ImportError:
        raise MissingDependencyError(
            "LiteRT (ai-edge-litert) is not installed", hint=f"install it with: {TFLITE_EXTRA}"
        ) from None
    return interpreter


@dataclass(frozen=True)
class TfliteModel:
    """A TFLite flatbuffer and what its metadata says (or what was assumed for a foreign file).

    Attributes:
        model_bytes: The ``.tflite`` file's content.
        weights: The embedded Weights record (or one built from the input tensor).
        architecture: Catalogue name of the exported architecture.
        outputs: Output names, in signature order.
        path: The file it was read from, if any.
        arch_options: Architecture options the model was built with.
        kind: ``"visiona"`` (uint8 NHWC in, preprocessing inside) or ``"foreign"`` (a file
            visiona did not write: the backend adapts layout, dtype and normalisation).
        quantization: ``""`` (float), ``"int8-dynamic"`` or ``"int8-static"``.
    """

    model_bytes: bytes
    weights: Weights
    architecture: str
    outputs: tuple[str, ...] = ("logits",)
    path: Path | None = None
    arch_options: dict[str, Any] = field(default_factory=dict)
    kind: str = "visiona"
    quantization: str = ""

    batched = True  # classifiers only: (1, H, W, 3) per call, looped by the backend

    def eval(self) -> TfliteModel:  # the LoadedModel contract: module.eval()
        return self


def metadata_for(
    weights: Weights, architecture: str, quantization: str = "", **extra: Any
) -> dict[str, str]:
    """The JSON object visiona stores in a ``.tflite`` file's ``visiona`` metadata entry."""
    from visiona.ops.preprocess import resize_rule

    return {
        "visiona.format": FORMAT,
        "visiona.weights": weights.to_json(),
        "visiona.architecture": architecture,
        "visiona.task": weights.task,
        "visiona.outputs": json.dumps(["logits"]),
        "visiona.input": f"{INPUT_NAME}: (1, H, W, 3) uint8 RGB, resized as visiona.resize says",
        "visiona.resize": json.dumps(resize_rule(weights.preprocessing)),
        "visiona.quantization": quantization,
        "visiona.extra": json.dumps(extra),
    }


def read_metadata(model_bytes: bytes) -> dict[str, bytes]:
    """Every ``Metadata`` entry of a TFLite flatbuffer: ``{name: buffer bytes}``.

    Raises:
        ValueError: Not a TFLite flatbuffer.
    """
    from ai_edge_litert import schema_py_generated as schema

    if len(model_bytes) < 8 or model_bytes[4:8] != b"TFL3":
        raise ValueError("not a TFLite flatbuffer (no TFL3 identifier)")
    model = schema.Model.GetRootAsModel(model_bytes, 0)
    entries = {}
    for index in range(model.MetadataLength()):
        entry = model.Metadata(index)
        buffer = model.Buffers(entry.Buffer())
        data = buffer.DataAsNumpy() if buffer.DataLength() else b""
        name = entry.Name().decode("utf-8", "replace") if entry.Name() else ""
        entries[name] = bytes(data)
    return entries


def with_metadata(model_bytes: bytes, name: str, content: bytes) -> bytes:
    """A copy of a TFLite flatbuffer with the ``Metadata`` entry ``name`` set to ``content``.

    Constant buffers stored after the flatbuffer (``offset``/``size``, as ai-edge-quantizer
    writes them) are moved inline, so the copy is one self-contained flatbuffer.
    """
    import flatbuffers
    import numpy as np
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model_bytes, 0))
    for stored in model.buffers or []:
        # Large or quantized models keep constants after the flatbuffer (offset/size into the
        # file); repacking moves the flatbuffer, so bring them inline (valid below 2 GB).
        if stored.offset and stored.offset > 1:
            end = stored.offset + stored.size
            stored.data = np.frombuffer(model_bytes[stored.offset : end], dtype=np.uint8)
            stored.offset, stored.size = 0, 0
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(content, dtype=np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = name
    entry.buffer = len(model.buffers) - 1
    kept = [item for item in (model.metadata or []) if _text(item.name) != name]
    model.metadata = [*kept, entry]
    builder = flatbuffers.Builder(len(model_bytes) + len(content) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else (value or "")


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null while native code logs start-up lines (absl, oneDNN,
    "Created TensorFlow Lite XNNPACK delegate") that no setting turns off."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (embedded interpreters)
        yield
        return
    try:
        with open(os.devnull, "wb") as sink:
            os.dup2(sink.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
