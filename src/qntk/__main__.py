"""``python -m qntk`` runs the command line."""

from .cli import main

main()
