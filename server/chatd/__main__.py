"""``python -m chatd`` is the ``chatd`` command."""

from chatd.cli.launch import main

main()
