"""``python -m nnframe`` runs the command line, like ``nnframe``."""

from nnframe.cli import main

if __name__ == "__main__":
    main()
