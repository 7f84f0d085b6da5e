"""``python -m fastnoise.cli``: the same as the ``fastnoise`` console script (and ``python -m fastnoise``)."""

from . import entry

if __name__ == "__main__":
    entry()
