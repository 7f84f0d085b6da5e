"""The package's error for a configuration value outside its range (shared by config and the vocabulary)."""

from __future__ import annotations

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """A configuration value outside its allowed range; ``option`` names the parameter."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option} {message}")
        self.option = option
        self.message = message

    def cli_message(self) -> str:
        """The same message with the CLI spelling of the option (``--n-train``)."""
        return f"--{self.option.replace('_', '-')} {self.message}"
