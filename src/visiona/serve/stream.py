"""WebSocket streaming: ``/v1/models/{name}:stream`` takes JPEG frames and answers with results.

Protocol (one connection per camera):

* client → server, binary message: one encoded frame (JPEG, PNG...).
* client → server, text message (optional, any time): ``{"options": {"conf": 0.5}}`` — task
  options for the following frames, checked like ``:predict``'s form fields.
* server → client, text message per processed frame::

      {"frame": 7, "latency_ms": 12.3, "dropped": 2, "model": "det", "result": {...}}

  ``frame`` counts the binary messages received (0-based); ``dropped`` is how many frames so far
  were replaced by a newer one before the model got to them.
* server → client on a bad frame: ``{"frame": 7, "error": {"code": 422, "message": "..."}}``; the
  connection stays open. An unknown model: an error message, then close code 4404.

Back-pressure: a receiving task keeps only the newest unprocessed frame (an older one waiting is
dropped and counted), so a client sending faster than the model never builds a queue on the
server and always gets results for recent frames. Frames go through the same decode limits, batch
queue and metrics as ``:predict``.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from visiona.errors import ImageLoadError, VisionaError


def register(app: FastAPI) -> None:
    """Add the ``:stream`` WebSocket route to the app built by ``create_app``."""

    @app.websocket("/v1/models/{name}:stream")
    async def stream(websocket: WebSocket, name: str) -> None:
        await websocket.accept()
        manager = app.state.manager
        served = manager.get(name) if hasattr(manager, "get") else None
        if served is None:
            await websocket.send_json(
                {"error": {"code": 404, "message": f"no model named {name!r}"}}
            )
            await websocket.close(code=4404)
            return
        await _serve(app, websocket, served)


async def _serve(app: FastAPI, websocket: WebSocket, served: Any) -> None:
    limits = app.state.config.limits
    newest: dict[str, Any] = {}
    state = {"received": 0, "dropped": 0, "options": {}, "closed": False}
    ready = asyncio.Event()

    async def receive() -> None:
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("bytes") is not None:
                    data = message["bytes"]
                    if "frame" in newest:
                        state["dropped"] += 1  # the model never saw it: a newer frame wins
                    newest["frame"] = (state["received"], data, time.perf_counter())
                    state["received"] += 1
                    ready.set()
                elif message.get("text"):
                    _read_options(message["text"], state)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            state["closed"] = True
            ready.set()

    reader = asyncio.create_task(receive())
    try:
        while True:
            await ready.wait()
            ready.clear()
            if state["closed"]:
                break
            if "frame" not in newest:
                continue
            index, data, started = newest.pop("frame")
            answer = await _answer(app, served, index, data, state, limits)
            answer["latency_ms"] = round(1000 * (time.perf_counter() - started), 3)
            answer["dropped"] = state["dropped"]
            try:
                await websocket.send_text(json.dumps(answer))
            except (WebSocketDisconnect, RuntimeError):
                break
    finally:
        reader.cancel()


def _read_options(text: str, state: dict[str, Any]) -> None:
    try:
        message = json.loads(text)
    except json.JSONDecodeError:
        return
    if isinstance(message, dict) and isinstance(message.get("options"), dict):
        state["options"] = message["options"]


async def _answer(app: FastAPI, served: Any, index: int, data: bytes, state: dict[str, Any],
                  limits: Any) -> dict[str, Any]:  # fmt: skip
    if len(data) > limits.max_body_bytes:
        return {"frame": index, "error": {"code": 413, "message": "frame too large"}}
    try:
        [result] = await app.state.infer(served, [(f"frame-{index}", data)], state["options"])
    except ImageLoadError as error:
        code = app.state.error_status(error)
        return {"frame": index, "error": {"code": code, "message": str(error)}}
    except VisionaError as error:
        return {"frame": index, "error": {"code": 400, "message": str(error)}}
    except Exception as error:  # ApiError and friends carry a status
        status = getattr(error, "status", None) or getattr(error, "status_code", None)
        if status is None:
            raise
        message = getattr(error, "message", None) or getattr(error, "detail", str(error))
        return {"frame": index, "error": {"code": int(status), "message": str(message)}}
    return {"frame": index, "model": served.name, "result": result.to_dict()}
