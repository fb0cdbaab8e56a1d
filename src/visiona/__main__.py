"""``python -m visiona`` runs the CLI."""

from visiona.cli.app import main

main()
