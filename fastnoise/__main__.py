"""``python -m fastnoise``: the ``fastnoise`` command line, exactly as the console script runs it."""

from .cli import entry

if __name__ == "__main__":
    entry()
