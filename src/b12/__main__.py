"""`python -m b12` runs the command line."""

from b12.adapters.cli import main

main()
