"""A Python client for ``visiona serve``: results come back as the same typed result objects.

Example::

    from visiona.client import Client

    with Client("http://127.0.0.1:8000") as client:
        result = client.predict("efficientnet_lite0", "cat.jpg", top_k=3)
        print(result.top[0].label)
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visiona.errors import InputNotFoundError, VisionaError

if TYPE_CHECKING:
    from visiona.results.base import Result

__all__ = ["Client", "ServerError"]


class ServerError(VisionaError):
    """The server answered with an error status.

    Attributes:
        status: HTTP status code (429: busy, retry after ``retry_after`` seconds).
        retry_after: The ``Retry-After`` header in seconds, when given.
    """

    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"server answered {status}: {message}")
        self.status = status
        self.retry_after = retry_after


def _encode(image: Any, index: int) -> tuple[str, bytes]:
    """An image input → ``(file name, encoded bytes)``; arrays and PIL images become PNG."""
    if isinstance(image, bytes | bytearray):
        return f"image{index}", bytes(image)
    if isinstance(image, str | os.PathLike):
        path = Path(image)
        if not path.is_file():
            raise InputNotFoundError(f"image file not found: {str(image)!r}")
        return path.name, path.read_bytes()
    from PIL import Image

    if not isinstance(image, Image.Image):
        import numpy as np

        image = Image.fromarray(np.asarray(image))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return f"image{index}.png", buffer.getvalue()


class Client:
    """Talks to a running ``visiona serve``.

    Args:
        url: Server base URL, e.g. ``http://127.0.0.1:8000``.
        token: Management bearer token (only for :meth:`load` / :meth:`unload`).
        timeout: Seconds per HTTP request.
    """

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 60.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.token = token
        self._http = httpx.Client(base_url=self.url, timeout=timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _check(self, response: Any) -> Any:
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            retry = response.headers.get("retry-after")
            raise ServerError(response.status_code, message, float(retry) if retry else None)
        return response.json()

    def models(self) -> list[dict[str, Any]]:
        """The served models: name, task, classes, input size, backend, version."""
        return self._check(self._http.get("/v1/models"))["models"]

    def ready(self) -> bool:
        """Whether the server has finished loading its models."""
        return self._http.get("/v2/health/ready").status_code == 200

    def predict_many(self, name: str, images: list[Any], **options: Any) -> list[Result]:
        """Results for several images in one request, in order.

        Args:
            name: Served model name.
            images: Paths, encoded bytes, PIL images or ``(H, W, 3)`` uint8 arrays.
            **options: Task options (``top_k``, ``conf``, ``iou``...).
        """
        from visiona.results.base import result_from_dict

        files = [("image", _encode(image, index)) for index, image in enumerate(images)]
        data = {key: str(value) for key, value in options.items() if value is not None}
        body = self._check(self._http.post(f"/v1/models/{name}:predict", files=files, data=data))
        return [result_from_dict(item) for item in body["results"]]

    def predict(self, name: str, image: Any, **options: Any) -> Result:
        """The result for one image (path, bytes, PIL image or array)."""
        return self.predict_many(name, [image], **options)[0]

    def _auth(self) -> dict[str, str]:
        if not self.token:
            raise VisionaError("management needs the server's token: Client(url, token=...)")
        return {"Authorization": f"Bearer {self.token}"}

    def load(
        self, name: str, source: str, *, task: str | None = None, pretrained: bool = True
    ) -> dict[str, Any]:
        """Load (or replace) ``name`` from a registry name or a path on the server's disk."""
        body = {"name": name, "source": source, "task": task, "pretrained": pretrained}
        return self._check(self._http.post("/v1/models", json=body, headers=self._auth()))

    def unload(self, name: str) -> None:
        """Stop serving ``name``."""
        self._check(self._http.delete(f"/v1/models/{name}", headers=self._auth()))
