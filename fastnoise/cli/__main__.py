"""``python -m fastnoise.cli``: the same as the ``fastnoise`` console script (and ``python -m fastnoise``)."""

from . import main

if __name__ == "__main__":
    main(prog_name="fastnoise")
