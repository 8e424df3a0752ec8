"""``python -m workbench`` runs the same command line as the ``workbench`` script."""

from workbench.cli import main

if __name__ == "__main__":
    main()
