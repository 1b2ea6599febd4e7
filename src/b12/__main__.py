"""`python -m b12` runs the command line."""

from b12.adapters.cli import main

if __name__ == "__main__":  # importing the module (as the import tests do) runs nothing
    main()
