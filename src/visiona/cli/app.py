"""The ``visiona`` command. Sub-command modules import heavy libraries only inside commands."""

from __future__ import annotations

import sys

import typer

from visiona import __version__
from visiona.cli import (
    benchmark,
    data,
    evaluate,
    explain,
    export,
    faces,
    predict,
    predict_perception,
    serve,
    train,
    weights,
)
from visiona.errors import ExitCode, VisionaError

app = typer.Typer(
    name="visiona",
    help="visiona: an offline-first computer-vision lab (classify, detect, segment, ...).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(data.app, name="data")
app.add_typer(train.app, name="train")
app.add_typer(evaluate.app, name="evaluate")
app.add_typer(predict.app, name="predict")
predict_perception.register(predict.app)
app.add_typer(faces.app, name="faces")
app.add_typer(weights.app, name="weights")
app.command("export")(export.export)
app.command("benchmark")(benchmark.benchmark)
app.command("serve")(serve.serve)
app.add_typer(explain.app, name="explain")
app.command("summary")(explain.summary)
app.command("report")(explain.report)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"visiona {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Also show libraries' log chatter (MediaPipe, TF-Lite...)."
    ),
) -> None:
    """visiona: one CLI over every vision task and mode."""
    from visiona.quiet import quiet_library_loggers, set_verbose

    set_verbose(verbose)
    quiet_library_loggers()


def report_error(error: VisionaError) -> None:
    """Print a user error as ``error: ...`` plus indented hint lines on stderr."""
    sys.stderr.write(f"error: {error}\n")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: user errors become one message and an exit code."""
    try:
        app(args=argv, prog_name="visiona")
    except VisionaError as error:
        report_error(error)
        raise SystemExit(error.exit_code) from None
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(ExitCode.INTERRUPTED) from None


if __name__ == "__main__":
    main()
