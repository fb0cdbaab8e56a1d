"""TF-Serving REST API: ``:predict`` with ``instances``/``inputs`` bodies, model status, metadata.

* ``POST /v1/models/{name}:predict`` (the app's route calls :func:`read_request` and
  :func:`predict`) and ``POST /v1/models/{name}/versions/{version}:predict``:

  - row format ``{"instances": [{"b64": "..."}, ...]}``; an instance may also name the input
    (``{"image": {"b64": "..."}}``) or be RGB pixels ``[H][W][3]`` (0-255 integers). Answer:
    ``{"predictions": [{"labels": [...], "scores": [...], ..., "result": {...}}, ...]}``, one
    object per instance with the outputs of :mod:`visiona.serve.protocols.tensors` for one image
    (``result`` is visiona's JSON result object).
  - columnar format ``{"inputs": [{"b64": "..."}, ...]}`` or ``{"inputs": {"image": [...]}}``.
    Answer: ``{"outputs": {"labels": [[...], ...], ...}}``, each output a list over the images.
  - optional ``"signature_name": "serving_default"``; task options as a visiona extension:
    ``"options": {"top_k": 3}``.

* ``GET /v1/models/{name}`` (the app's route adds :func:`version_status` to visiona's model
  description) and ``GET /v1/models/{name}/versions/{version}``: TF-Serving's model status.
* ``GET /v1/models/{name}/metadata`` (and ``/versions/{version}/metadata``): the signature.

Errors of TF-Serving requests are ``{"error": "message"}`` with a 4xx status.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from visiona.serve.errors import MAX_JSON_DEPTH, json_depth
from visiona.serve.limits import Limits
from visiona.serve.models import ServedModel
from visiona.serve.protocols.errors import ERROR_RESPONSE as _ERROR
from visiona.serve.protocols.errors import ProtocolError, status_of, use_string_errors
from visiona.serve.protocols.tensors import batch_outputs, output_specs, to_json_safe

__all__ = ["document", "predict", "read_request", "router", "version_status"]

router = APIRouter(tags=["tf-serving"])

SIGNATURE = "serving_default"
_SIGNATURES = ("", SIGNATURE, "predict")
# curl -d sends form-urlencoded; TF-Serving reads the body as JSON whatever the content type.
_CONTENT_TYPES = ("application/json", "", "application/x-www-form-urlencoded", "text/plain")
_DTYPES = {"FP32": "DT_FLOAT", "INT64": "DT_INT64", "BYTES": "DT_STRING", "UINT8": "DT_UINT8"}

Infer = Callable[[ServedModel, list[tuple[str, Any]], dict[str, Any]], Awaitable[list[Any]]]

_B64 = {
    "type": "object",
    "required": ["b64"],
    "properties": {"b64": {"type": "string", "description": "base64 of the image file"}},
}
REQUEST_SCHEMA: dict[str, Any] = {
    "title": "TF-Serving predict request",
    "type": "object",
    "properties": {
        "signature_name": {"type": "string", "enum": list(_SIGNATURES)},
        "instances": {"type": "array", "items": {}, "description": 'row format: [{"b64": ...}]'},
        "inputs": {"description": 'columnar format: [{"b64": ...}] or {"image": [...]}'},
        "options": {"type": "object", "description": "task options (visiona extension)"},
    },
    "example": {"instances": [{"b64": "<base64 of a JPEG>"}]},
}
"""The JSON schema of a TF-Serving ``:predict`` body (for the OpenAPI document)."""
_VISIONA_JSON = {
    "title": "visiona predict request",
    "type": "object",
    "required": ["images"],
    "properties": {
        "images": {"type": "array", "items": {"type": "string"}, "description": "base64 images"},
        "options": {"type": "object"},
    },
}


def document(app: FastAPI) -> None:
    """Add the TF-Serving body to the OpenAPI description of the app's ``:predict`` route.

    The route is the app's own (its other request bodies are described there); the TF-Serving
    JSON body becomes one more alternative of its ``application/json`` request body.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        operation = schema.get("paths", {}).get("/v1/models/{name}:predict", {}).get("post")
        if operation is not None:
            body = operation.setdefault("requestBody", {"content": {}})
            media = body.setdefault("content", {}).setdefault("application/json", {})
            current = media.get("schema")
            media["schema"] = {"anyOf": [current or _VISIONA_JSON, REQUEST_SCHEMA]}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def version_status(served: ServedModel) -> dict[str, Any]:
    """TF-Serving's model status: the one version being served, available."""
    return {
        "model_version_status": [
            {
                "version": str(served.version),
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }


def _tensor_info(name: str, datatype: str, dims: list[int]) -> dict[str, Any]:
    return {
        "dtype": _DTYPES[datatype],
        "tensor_shape": {
            "dim": [{"size": str(size), "name": ""} for size in dims],
            "unknown_rank": False,
        },
        "name": f"{name}:0",
    }


def _metadata(served: ServedModel) -> dict[str, Any]:
    outputs = {}
    for spec in output_specs(served.task):
        # TF shapes lead with the batch; per-object outputs are per image in TF answers.
        dims = [-1, *spec.shape] if spec.per_object else list(spec.shape)
        if spec.name != "image_index":
            outputs[spec.name] = _tensor_info(spec.name, spec.datatype, dims)
    signature = {
        "inputs": {"image": _tensor_info("image", "BYTES", [-1])},
        "outputs": outputs,
        "method_name": "tensorflow/serving/predict",
    }
    return {
        "model_spec": {"name": served.name, "signature_name": "", "version": str(served.version)},
        "metadata": {"signature_def": {"signature_def": {SIGNATURE: signature}}},
    }


def _served(request: Request, name: str, version: str | None = None) -> ServedModel:
    use_string_errors(request)
    served = request.app.state.manager.get(name)
    if served is None:
        known = ", ".join(m.name for m in request.app.state.manager.all()) or "none"
        raise ProtocolError(404, f"no model named {name!r}; served: {known}")
    if version is not None and version != str(served.version):
        raise ProtocolError(
            404, f"model {name!r} has no version {version!r}; serving version {served.version}"
        )
    return served


@router.get("/v1/models/{name}/versions/{version}", responses={404: _ERROR})
async def get_version_status(name: str, version: str, request: Request) -> dict[str, Any]:
    """TF-Serving's status of one version (only the version being served exists)."""
    return version_status(_served(request, name, version))


@router.get("/v1/models/{name}/metadata", responses={404: _ERROR})
async def get_metadata(name: str, request: Request) -> dict[str, Any]:
    """TF-Serving's model metadata: the ``serving_default`` signature's inputs and outputs."""
    return _metadata(_served(request, name))


@router.get("/v1/models/{name}/versions/{version}/metadata", responses={404: _ERROR})
async def get_version_metadata(name: str, version: str, request: Request) -> dict[str, Any]:
    """TF-Serving's metadata of one version (only the version being served)."""
    return _metadata(_served(request, name, version))


# ------------------------------------------------------------------------------------ predict


async def read_request(request: Request) -> dict[str, Any] | None:
    """The parsed body when it is a TF-Serving predict request, else ``None``.

    A TF-Serving body is a JSON object with ``instances`` or ``inputs`` (and no ``images``, which
    is visiona's own JSON format). Marks the request for ``{"error": "message"}`` errors.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _CONTENT_TYPES:
        return None
    body = await request.body()
    if b'"instances"' not in body and b'"inputs"' not in body:
        return None
    try:
        if json_depth(body) > MAX_JSON_DEPTH:
            raise ValueError("too deep")
        payload = json.loads(body)
    except (ValueError, RecursionError):
        if content_type != "application/json":
            return None
        use_string_errors(request)
        raise ProtocolError(400, "request body is not valid JSON") from None
    if not isinstance(payload, dict) or "images" in payload:
        return None
    if "instances" not in payload and "inputs" not in payload:
        return None
    use_string_errors(request)
    return payload


def _decode_b64(value: str, where: str) -> bytes:
    if value.startswith("data:"):
        value = value.partition(",")[2]
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(400, f"{where}: 'b64' is not valid base64") from None


def _pixels(value: list[Any], where: str) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (ValueError, TypeError, RecursionError):
        array = np.asarray(None)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype.kind not in "iu":
        raise ProtocolError(
            400, f'{where} must be {{"b64": "<base64 image file>"}} or RGB pixels [H][W][3] '
            "of integers 0-255",
        )  # fmt: skip
    if array.size and (array.min() < 0 or array.max() > 255):
        raise ProtocolError(400, f"{where}: pixel values must be 0-255")
    return array.astype(np.uint8)


def _image(value: Any, where: str, named: bool = True) -> Any:
    """One image: ``{"b64": ...}``, ``{"image": {"b64": ...}}`` or pixels → bytes or array."""
    if isinstance(value, dict):
        if isinstance(value.get("b64"), str):
            return _decode_b64(value["b64"], where)
        if named and len(value) == 1:
            ((key, inner),) = value.items()
            return _image(inner, f"{where}.{key}", named=False)
        if named and "image" in value:
            return _image(value["image"], f"{where}.image", named=False)
    if isinstance(value, list):
        return _pixels(value, where)
    raise ProtocolError(
        400, f'{where} must be {{"b64": "<base64 image file>"}} (or {{"image": {{"b64": ...}}}}, '
        "or RGB pixels [H][W][3])",
    )  # fmt: skip


def _column(inputs: Any) -> list[Any]:
    """The images of a columnar ``inputs`` value, one per batch entry."""
    if isinstance(inputs, dict) and "b64" not in inputs:
        if len(inputs) == 1:
            (inputs,) = inputs.values()
        elif "image" in inputs:
            inputs = inputs["image"]
        else:
            raise ProtocolError(
                400, f"unknown inputs {sorted(inputs)}; the model has one input, 'image'"
            )
    if isinstance(inputs, dict):
        return [inputs]  # one image without a batch dimension
    if isinstance(inputs, list) and inputs and not isinstance(inputs[0], dict):
        try:
            ndim = np.asarray(inputs).ndim
        except (ValueError, TypeError, RecursionError):
            ndim = 0
        if ndim == 3:
            return [inputs]  # one [H][W][3] image
    if not isinstance(inputs, list):
        raise ProtocolError(400, "'inputs' must be a list of images, or {\"image\": [images]}")
    return inputs


def parse_images(
    payload: dict[str, Any], max_files: int
) -> tuple[list[tuple[str, Any]], dict[str, Any], bool]:
    """``(name, bytes or (H, W, 3) array)`` per image, the options, and whether it is columnar."""
    signature = payload.get("signature_name", SIGNATURE)
    if signature not in _SIGNATURES:
        raise ProtocolError(
            400, f"unknown signature_name {signature!r}; the model has {SIGNATURE!r}"
        )
    if "instances" in payload and "inputs" in payload:
        raise ProtocolError(
            400, "send either 'instances' (row format) or 'inputs' (columnar), not both"
        )
    columnar = "inputs" in payload
    if columnar:
        values, what = _column(payload["inputs"]), "inputs"
    else:
        values, what = payload["instances"], "instances"
        if not isinstance(values, list):
            raise ProtocolError(400, "'instances' must be a list, one entry per image")
    if not values:
        raise ProtocolError(400, f"no image in the request ('{what}' is empty)")
    if len(values) > max_files:
        raise ProtocolError(413, f"more than {max_files} images in one request")
    images = [(f"image{i}", _image(value, f"{what}[{i}]")) for i, value in enumerate(values)]
    options = payload.get("options") or {}
    if not isinstance(options, dict):
        raise ProtocolError(400, "'options' must be an object")
    return images, options, columnar


async def predict(
    served: ServedModel, payload: dict[str, Any], infer: Infer, limits: Limits
) -> JSONResponse:
    """Answer a TF-Serving predict body (from :func:`read_request`) through the shared ``infer``."""
    images, options, columnar = parse_images(payload, limits.max_files)
    results = await infer(served, images, options)
    specs = [spec for spec in output_specs(served.task) if spec.name != "image_index"]
    tensors = [spec.name for spec in specs if spec.name != "result"]
    per_image = []
    for result in results:
        arrays = batch_outputs([result], served.task, tensors)
        item = {}
        for spec in specs:
            if spec.name == "result":
                item["result"] = to_json_safe(result.to_dict())
            else:  # a per-image output loses the batch dimension of this one image
                value = arrays[spec.name]
                item[spec.name] = to_json_safe(value if spec.per_object else value[0])
        per_image.append(item)
    if columnar:
        names = [spec.name for spec in specs]
        return JSONResponse({"outputs": {name: [p[name] for p in per_image] for name in names}})
    return JSONResponse({"predictions": per_image})


@router.post(
    "/v1/models/{name}/versions/{version}:predict",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": REQUEST_SCHEMA}},
        }
    },
    responses={200: {"description": '{"predictions": [...]} or {"outputs": ...}'},
               400: _ERROR, 404: _ERROR, 413: _ERROR, 415: _ERROR, 422: _ERROR, 429: _ERROR,
               504: _ERROR},
)  # fmt: skip
async def predict_version(name: str, version: str, request: Request) -> JSONResponse:
    """TF-Serving predict on one version (only the version being served)."""
    start = time.perf_counter()
    use_string_errors(request)
    payload = await read_request(request)
    served = _served(request, name, version)
    if payload is None:
        raise ProtocolError(
            400, 'send a TF-Serving JSON body: {"instances": [{"b64": "..."}]} or {"inputs": ...}'
        )
    metrics = request.app.state.metrics
    code = 500
    try:
        response = await predict(
            served, payload, request.app.state.infer, request.app.state.config.limits
        )
        code = 200
        return response
    except Exception as error:
        code = status_of(request, error)
        raise
    finally:
        metrics.requests.labels(served.name, str(code)).inc()
        metrics.latency.labels(served.name).observe(time.perf_counter() - start)
