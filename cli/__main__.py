"""``python -m fastnoise.cli``: the same as the ``fastnoise`` console script."""

from fastnoise.cli import main

main()
