"""`python -m runner` is the `modrun` command."""

from .cli import main

main()
