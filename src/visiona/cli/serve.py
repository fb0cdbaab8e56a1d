"""``visiona serve [MODEL...]``: serve models over REST (FastAPI + uvicorn) with a web page."""

from __future__ import annotations

import typer

from visiona.cli.conventions import split_list
from visiona.errors import MissingDependencyError, UsageError


def serve(
    models: list[str] = typer.Argument(
        None,
        help="Models as [NAME=]SOURCE: registry names, perception tasks (faces, pose...) or "
        "checkpoint paths. Default: efficientnet_lite0.",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port (0: any free port)."),
    max_batch: int = typer.Option(8, "--max-batch", help="Largest micro-batch (1: no batching)."),
    max_wait_ms: float = typer.Option(5.0, "--max-wait-ms", help="Batching window in ms."),
    max_queue: int = typer.Option(64, "--max-queue", help="Waiting requests per model before 429."),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds per request before 504."),
    max_body_mb: float = typer.Option(10.0, "--max-body-mb", help="Largest request body (MB)."),
    max_pixels: int = typer.Option(40_000_000, "--max-pixels", help="Largest image (w×h)."),
    max_files: int = typer.Option(16, "--max-files", help="Images per request."),
    token: str = typer.Option(
        None,
        "--token",
        envvar="VISIONA_SERVE_TOKEN",
        help="Management bearer token (default: random).",
    ),
    cors_origin: list[str] = typer.Option(
        None,
        "--cors-origin",
        help="Allow this browser origin (repeatable; CORS closed by default).",
    ),
    random_init: bool = typer.Option(
        False, "--random-init", help="Random weights instead of pretrained (testing)."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
) -> None:
    """Serve models: REST API (/v1/models, /docs, /metrics) and a web page with webcam at /."""
    import secrets

    try:
        from visiona.serve.app import ServeConfig, create_app
        from visiona.serve.limits import Limits
        from visiona.serve.server import run
    except ImportError as error:
        raise MissingDependencyError(
            f"visiona serve needs the serve extra ({error.name} is missing)",
            hint="pip install 'visiona[serve]'",
        ) from None
    from visiona.serve.models import check_source, parse_model_arg

    for name, value in (("--max-batch", max_batch), ("--max-queue", max_queue)):
        if value < 1:
            raise UsageError(f"{name} must be at least 1, got {value}")
    if timeout <= 0 or max_body_mb <= 0 or max_pixels < 1 or max_files < 1:
        raise UsageError("--timeout, --max-body-mb, --max-pixels and --max-files must be positive")
    pairs = [parse_model_arg(arg) for arg in (models or ["efficientnet_lite0"])]
    for _, source in pairs:
        check_source(source)
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise UsageError(f"two models share a name: {names}", hint="name them: NAME=SOURCE")
    token = token or secrets.token_urlsafe(24)
    config = ServeConfig(
        models=pairs,
        limits=Limits(
            max_body_bytes=int(max_body_mb * 1024 * 1024),
            max_pixels=max_pixels,
            max_files=max_files,
            timeout_s=timeout,
        ),
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        max_queue=max_queue,
        token=token,
        cors_origins=split_list(cors_origin),
        pretrained=not random_init,
        device=device,
    )
    app = create_app(config)
    typer.echo(f"visiona serve: models {', '.join(names)} on http://{host}:{port}/", err=True)
    typer.echo(f"management token: {token}", err=True)
    run(app, host, port)
