"""``python -m fastnoise``: the ``fastnoise`` command line, exactly as the console script runs it."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="fastnoise")
