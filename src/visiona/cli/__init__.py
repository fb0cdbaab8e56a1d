"""Command-line interface (Typer): one module per mode."""
