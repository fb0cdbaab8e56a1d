"""KServe v2 / Open Inference Protocol (what Triton, KServe, MLServer and ``tritonclient`` speak).

Routes (``{name}`` a served model; ``/versions/{version}`` forms accept the serving version only):

* ``GET /v2``: server metadata. ``GET /v2/health/live|ready`` live in the app.
* ``GET /v2/models/{name}``: model metadata (input ``image``; outputs per task, see
  :mod:`visiona.serve.protocols.tensors`). ``GET /v2/models/{name}/ready``.
* Triton's extensions ``GET /v2/models/{name}/config`` and ``POST /v2/repository/index``.
* ``POST /v2/models/{name}/infer``: one input tensor holding the image(s), either ``BYTES``
  (encoded JPEG/PNG/..., one element per image; in JSON each element is a base64 string) or
  ``UINT8`` ``[N, H, W, 3]`` / ``[H, W, 3]`` RGB pixels (JSON ``data`` flat or nested). The binary
  tensor data extension (``Inference-Header-Content-Length``, ``binary_data_size``,
  ``binary_data_output``, per-output ``binary_data``) is supported, so ``tritonclient`` works with
  its defaults. Request ``parameters`` other than the protocol's own are task options
  (``top_k``, ``conf``...). The request ``outputs`` select outputs; ``id`` is echoed.

Inference goes through the app's shared ``infer``: same limits, batch queue and results as
``:predict``. Errors are ``{"error": "message"}`` with a 4xx status.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import struct
import time
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from visiona.serve.errors import MAX_JSON_DEPTH, json_depth
from visiona.serve.models import ServedModel
from visiona.serve.protocols.errors import ERROR_RESPONSE as _ERROR
from visiona.serve.protocols.errors import ProtocolError, status_of
from visiona.serve.protocols.tensors import batch_outputs, output_specs, to_json_safe

__all__ = ["router"]

router = APIRouter(tags=["kserve-v2"])

HEADER_LENGTH = "inference-header-content-length"
# Request parameters that belong to the protocol (or to Triton), not to the model's options.
_PROTOCOL_PARAMETERS = {
    "binary_data_output", "sequence_id", "sequence_start", "sequence_end", "priority", "timeout",
    "headers", "content_type",
}  # fmt: skip
_NUMPY = {"FP32": np.float32, "INT64": np.int64, "UINT8": np.uint8}

_TENSOR_SCHEMA = {
    "type": "object",
    "required": ["name", "datatype", "shape"],
    "properties": {
        "name": {"type": "string"},
        "datatype": {"type": "string", "enum": ["BYTES", "UINT8"]},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "parameters": {"type": "object"},
        "data": {"type": "array", "description": "base64 strings (BYTES) or 0-255 integers"},
    },
}
_INFER_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["inputs"],
                "properties": {
                    "id": {"type": "string"},
                    "parameters": {
                        "type": "object",
                        "description": "task options (top_k, conf...) and binary_data_output",
                    },
                    "inputs": {"type": "array", "minItems": 1, "maxItems": 1,
                               "items": _TENSOR_SCHEMA},
                    "outputs": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {
                                "name": {"type": "string"},
                                "parameters": {"type": "object"},
                            },
                        },
                    },
                },
            }
        },
        "application/octet-stream": {
            "schema": {
                "type": "string",
                "format": "binary",
                "description": "binary tensor data extension: a JSON header of "
                "Inference-Header-Content-Length bytes, then the tensors' bytes",
            }
        },
    },
}  # fmt: skip
_INFER_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Output tensors (JSON; binary tensor data when asked)",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "model_name": {"type": "string"},
                        "model_version": {"type": "string"},
                        "id": {"type": "string"},
                        "outputs": {"type": "array", "items": {"type": "object"}},
                    },
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    400: _ERROR, 404: _ERROR, 413: _ERROR, 415: _ERROR, 422: _ERROR, 429: _ERROR, 504: _ERROR,
}  # fmt: skip


def _served(request: Request, name: str, version: str | None = None) -> ServedModel:
    served = request.app.state.manager.get(name)
    if served is None:
        known = ", ".join(m.name for m in request.app.state.manager.all()) or "none"
        raise ProtocolError(404, f"no model named {name!r}; served: {known}")
    if version is not None and version != str(served.version):
        raise ProtocolError(
            404, f"model {name!r} has no version {version!r}; serving version {served.version}"
        )
    return served


# ---------------------------------------------------------------------------------- metadata


@router.get("/v2", responses={200: {"description": "Server metadata"}})
async def server_metadata() -> dict[str, Any]:
    """Server name, version and protocol extensions."""
    from visiona import __version__

    return {"name": "visiona", "version": __version__, "extensions": ["binary_tensor_data"]}


def _metadata(served: ServedModel) -> dict[str, Any]:
    return {
        "name": served.name,
        "versions": [str(served.version)],
        "platform": "visiona_"
        + str(served.info.get("backend") or "torch").lower().removesuffix("backend"),
        "inputs": [{"name": "image", "datatype": "BYTES", "shape": [-1]}],
        "outputs": [
            {"name": spec.name, "datatype": spec.datatype, "shape": list(spec.shape)}
            for spec in output_specs(served.task)
        ],
        # Not part of the protocol's metadata; clients ignore what they do not know.
        "parameters": {
            "task": served.task,
            "classes": list(served.info.get("classes") or []),
            "input_formats": ["BYTES [N] encoded images", "UINT8 [N,H,W,3] RGB pixels"],
        },
    }


@router.get("/v2/models/{name}", responses={404: _ERROR})
async def model_metadata(name: str, request: Request) -> dict[str, Any]:
    """Model metadata: versions, platform, input and output tensors."""
    return _metadata(_served(request, name))


@router.get("/v2/models/{name}/versions/{version}", responses={404: _ERROR})
async def model_version_metadata(name: str, version: str, request: Request) -> dict[str, Any]:
    """Model metadata for one version (only the version being served)."""
    return _metadata(_served(request, name, version))


@router.get("/v2/models/{name}/ready", responses={404: _ERROR})
async def model_ready(name: str, request: Request) -> dict[str, Any]:
    """200 when the model is loaded and answering; 404 when there is no such model."""
    return {"name": _served(request, name).name, "ready": True}


@router.get("/v2/models/{name}/versions/{version}/ready", responses={404: _ERROR})
async def model_version_ready(name: str, version: str, request: Request) -> dict[str, Any]:
    """Readiness of one version (only the version being served)."""
    return {"name": _served(request, name, version).name, "ready": True}


_TRITON_TYPES = {"BYTES": "TYPE_STRING", "FP32": "TYPE_FP32", "INT64": "TYPE_INT64"}


@router.get("/v2/models/{name}/config", responses={404: _ERROR})
async def model_config(name: str, request: Request) -> dict[str, Any]:
    """Triton's model configuration (``tritonclient``'s ``get_model_config``); no batch dimension
    of its own (``max_batch_size`` 0): the tensors' shapes carry the image count."""
    served = _served(request, name)
    return {
        "name": served.name,
        "platform": _metadata(served)["platform"],
        "backend": "visiona",
        "max_batch_size": 0,
        "input": [{"name": "image", "data_type": "TYPE_STRING", "dims": [-1]}],
        "output": [
            {"name": spec.name, "data_type": _TRITON_TYPES[spec.datatype], "dims": list(spec.shape)}
            for spec in output_specs(served.task)
        ],
        "parameters": {"task": {"string_value": served.task}},
    }


@router.post("/v2/repository/index")
async def repository_index(request: Request) -> list[dict[str, Any]]:
    """Triton's model repository index: every served model, ready."""
    return [
        {"name": m.name, "version": str(m.version), "state": "READY"}
        for m in request.app.state.manager.all()
    ]


# ------------------------------------------------------------------------------------- infer


def _split_body(body: bytes, header_length: str | None) -> tuple[dict[str, Any], bytes]:
    """The JSON inference header and the binary tensor data after it."""
    if header_length is not None:
        try:
            size = int(header_length)
        except ValueError:
            size = -1
        if not 0 < size <= len(body):
            raise ProtocolError(
                400, f"Inference-Header-Content-Length {header_length!r} does not fit the "
                f"{len(body)}-byte body",
            )  # fmt: skip
        head, binary = body[:size], body[size:]
    else:
        head, binary = body, b""
    if json_depth(head) > MAX_JSON_DEPTH:
        raise ProtocolError(400, f"the inference request is nested deeper than {MAX_JSON_DEPTH}")
    try:
        payload = json.loads(head)
    except (ValueError, RecursionError):
        raise ProtocolError(400, "the inference request is not valid JSON") from None
    if not isinstance(payload, dict):
        raise ProtocolError(400, "the inference request must be a JSON object")
    return payload, binary


def _shape(tensor: dict[str, Any]) -> list[int]:
    shape = tensor.get("shape")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise ProtocolError(400, f"input 'shape' must be a list of sizes >= 0, got {shape!r}")
    return shape


def _deserialize_bytes(data: bytes, count: int) -> list[bytes]:
    """Triton's binary BYTES layout: each element is a 4-byte little-endian length, then bytes."""
    elements, offset = [], 0
    while offset < len(data):
        if offset + 4 > len(data):
            raise ProtocolError(400, "binary BYTES data ends inside an element's length")
        (length,) = struct.unpack_from("<I", data, offset)
        offset += 4
        if offset + length > len(data):
            raise ProtocolError(400, "binary BYTES data ends inside an element")
        elements.append(data[offset : offset + length])
        offset += length
    if len(elements) != count:
        raise ProtocolError(
            400, f"binary BYTES data holds {len(elements)} elements, shape says {count}"
        )
    return elements


def _json_bytes(data: Any, count: int) -> list[bytes]:
    try:
        flat = (
            np.asarray(data, dtype=object).reshape(-1).tolist() if isinstance(data, list) else None
        )
    except (ValueError, TypeError, RecursionError):  # ragged or too deep
        flat = None
    if flat is None or len(flat) != count:
        raise ProtocolError(400, f"BYTES input 'data' must hold {count} base64 strings")
    images = []
    for index, entry in enumerate(flat):
        if isinstance(entry, dict) and isinstance(entry.get("b64"), str):
            entry = entry["b64"]
        if not isinstance(entry, str):
            raise ProtocolError(
                400, f"BYTES element {index} must be a base64 string of the image file"
            )
        if entry.startswith("data:"):
            entry = entry.partition(",")[2]
        try:
            images.append(base64.b64decode(entry, validate=True))
        except (binascii.Error, ValueError):
            raise ProtocolError(400, f"BYTES element {index} is not valid base64") from None
    return images


def _pixels(data: Any, binary: bytes | None, shape: list[int]) -> list[np.ndarray]:
    if len(shape) == 3:
        shape = [1, *shape]
    if len(shape) != 4 or shape[3] != 3 or shape[1] == 0 or shape[2] == 0:
        raise ProtocolError(
            400, f"UINT8 input must be RGB pixels [N, H, W, 3] or [H, W, 3], got {shape}"
        )
    count = math.prod(shape)
    if binary is not None:
        if len(binary) != count:
            raise ProtocolError(
                400, f"UINT8 input has {len(binary)} bytes, shape {shape} needs {count}"
            )
        array = np.frombuffer(binary, np.uint8)
    else:
        try:
            array = np.asarray(data if isinstance(data, list) else None)
        except (ValueError, TypeError, RecursionError):  # ragged or too deep nesting
            array = np.asarray(None)
        if array.dtype.kind not in "iu" or array.size != count:
            raise ProtocolError(400, f"UINT8 input 'data' must hold {count} integers 0-255")
        if array.size and (array.min() < 0 or array.max() > 255):
            raise ProtocolError(400, "UINT8 input 'data' values must be 0-255")
        array = array.astype(np.uint8)
    return list(array.reshape(shape))


def _read_images(payload: dict[str, Any], binary: bytes, max_files: int) -> list[tuple[str, Any]]:
    inputs = payload.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], dict):
        raise ProtocolError(
            400, "'inputs' must hold one tensor: the image(s) as BYTES (encoded files) "
            "or UINT8 [N, H, W, 3]",
        )  # fmt: skip
    tensor = inputs[0]
    datatype = tensor.get("datatype")
    if datatype not in ("BYTES", "UINT8"):
        raise ProtocolError(400, f"input datatype must be BYTES or UINT8, got {datatype!r}")
    shape = _shape(tensor)
    size = _parameters(tensor, "input").get("binary_data_size")
    raw: bytes | None = None
    if size is not None:
        if not isinstance(size, int) or isinstance(size, bool) or size != len(binary):
            raise ProtocolError(
                400, f"binary_data_size {size!r} does not match the {len(binary)} bytes sent"
            )
        raw = binary
    elif binary:
        raise ProtocolError(400, "binary data sent but the input has no binary_data_size")
    elif "data" not in tensor:
        raise ProtocolError(400, "the input has neither 'data' nor binary data")
    if datatype == "BYTES":
        count = math.prod(shape)
        if count > max_files:
            raise ProtocolError(413, f"more than {max_files} images in one request")
        images: list[Any] = (
            _deserialize_bytes(raw, count)
            if raw is not None
            else _json_bytes(tensor.get("data"), count)
        )
    else:
        batch = shape[0] if len(shape) == 4 else 1
        if batch > max_files:
            raise ProtocolError(413, f"more than {max_files} images in one request")
        images = _pixels(tensor.get("data"), raw, shape)
    if not images:
        raise ProtocolError(400, "no image in the request (the input has 0 elements)")
    return [(f"image{index}", image) for index, image in enumerate(images)]


def _requested(payload: dict[str, Any], task: str) -> tuple[list[str], set[str]]:
    """Output names to answer, and those to answer as binary data."""
    known = [spec.name for spec in output_specs(task)]
    all_binary = bool(_parameters(payload, "request").get("binary_data_output", False))
    outputs = payload.get("outputs")
    if outputs is None:
        return known, set(known) if all_binary else set()
    if not isinstance(outputs, list) or not outputs:
        raise ProtocolError(400, "'outputs' must be a non-empty list of {\"name\": ...}")
    names, binary = [], set()
    for output in outputs:
        name = output.get("name") if isinstance(output, dict) else None
        if name not in known:
            raise ProtocolError(
                400, f"unknown output {name!r} for task {task}; outputs: {', '.join(known)}"
            )
        names.append(name)
        wanted = _parameters(output, f"output {name!r}").get("binary_data", all_binary)
        if wanted:
            binary.add(name)
    return names, binary


def _parameters(item: dict[str, Any], what: str) -> dict[str, Any]:
    parameters = item.get("parameters")
    if parameters is None:
        return {}
    if not isinstance(parameters, dict):
        raise ProtocolError(400, f"{what} 'parameters' must be an object")
    return parameters


def _options(payload: dict[str, Any]) -> dict[str, Any]:
    parameters = _parameters(payload, "request")
    return {k: v for k, v in parameters.items() if k not in _PROTOCOL_PARAMETERS}


def _serialize(array: np.ndarray, datatype: str) -> bytes:
    if datatype == "BYTES":
        parts = []
        for item in array.reshape(-1):
            data = item.encode() if isinstance(item, str) else bytes(item)
            parts.append(struct.pack("<I", len(data)) + data)
        return b"".join(parts)
    return np.ascontiguousarray(array, dtype=_NUMPY[datatype]).tobytes()


def _response(
    served: ServedModel,
    payload: dict[str, Any],
    outputs: dict[str, np.ndarray],
    binary: set[str],
) -> Response:
    datatypes = {spec.name: spec.datatype for spec in output_specs(served.task)}
    body: dict[str, Any] = {"model_name": served.name, "model_version": str(served.version)}
    if isinstance(payload.get("id"), str):
        body["id"] = payload["id"]
    tensors, blobs = [], []
    for name, array in outputs.items():
        tensor: dict[str, Any] = {"name": name, "datatype": datatypes[name],
                                  "shape": list(array.shape)}  # fmt: skip
        if name in binary:
            blob = _serialize(array, datatypes[name])
            tensor["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        elif datatypes[name] == "BYTES":
            tensor["data"] = [str(item) for item in array.reshape(-1)]
        else:
            tensor["data"] = to_json_safe(array.reshape(-1))
        tensors.append(tensor)
    body["outputs"] = tensors
    if not blobs:
        return JSONResponse(body)
    head = json.dumps(body).encode()
    return Response(
        head + b"".join(blobs),
        media_type="application/octet-stream",
        headers={"Inference-Header-Content-Length": str(len(head))},
    )


async def _infer(request: Request, name: str, version: str | None) -> Response:
    start = time.perf_counter()
    served = _served(request, name, version)
    metrics = request.app.state.metrics
    code = 500
    try:
        encoding = request.headers.get("content-encoding", "identity").lower()
        if encoding not in ("", "identity"):
            raise ProtocolError(
                415, f"Content-Encoding {encoding!r} is not supported; send it plain"
            )
        payload, binary = _split_body(await request.body(), request.headers.get(HEADER_LENGTH))
        limits = request.app.state.config.limits
        images = _read_images(payload, binary, limits.max_files)
        options = _options(payload)
        names, binary_outputs = _requested(payload, served.task)
        results = await request.app.state.infer(served, images, options)
        try:
            outputs = batch_outputs(results, served.task, names)
        except ValueError as error:
            raise ProtocolError(400, str(error)) from None
        response = _response(served, payload, outputs, binary_outputs)
        code = 200
        return response
    except Exception as error:
        code = status_of(request, error)
        raise
    finally:
        metrics.requests.labels(served.name, str(code)).inc()
        metrics.latency.labels(served.name).observe(time.perf_counter() - start)


@router.post(
    "/v2/models/{name}/infer", openapi_extra={"requestBody": _INFER_BODY},
    responses=_INFER_RESPONSES,
)  # fmt: skip
async def infer(name: str, request: Request) -> Response:
    """Run the model on a BYTES (encoded images) or UINT8 ``[N, H, W, 3]`` input tensor."""
    return await _infer(request, name, None)


@router.post(
    "/v2/models/{name}/versions/{version}/infer", openapi_extra={"requestBody": _INFER_BODY},
    responses=_INFER_RESPONSES,
)  # fmt: skip
async def infer_version(name: str, version: str, request: Request) -> Response:
    """Inference on one version (only the version being served)."""
    return await _infer(request, name, version)
