"""What a model, a task or a loss may read of a run's configuration: :class:`RunFields`.

:class:`fastnoise.config.RunConfig` is one (it validates itself by asking the vocabulary, so the
vocabulary cannot import it: this protocol is the interface between them, and the one an extension
module annotates its ``cfg`` with). Each attribute means what the option of that name means
(:data:`fastnoise.options.OPTIONS`); the last five are RunConfig's derived properties.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["RunFields"]


class RunFields(Protocol):
    """The configuration a vocabulary entry reads (read-only; see the module docstring)."""

    @property
    def model(self) -> str: ...  # noqa: D102

    @property
    def loss(self) -> str: ...  # noqa: D102

    @property
    def bias(self) -> bool: ...  # noqa: D102

    @property
    def train(self) -> str: ...  # noqa: D102

    @property
    def data(self) -> str: ...  # noqa: D102

    @property
    def d(self) -> int | None: ...  # noqa: D102

    @property
    def width(self) -> int: ...  # noqa: D102

    @property
    def widths(self) -> tuple[int, ...] | None: ...  # noqa: D102

    @property
    def activation(self) -> str: ...  # noqa: D102

    @property
    def leak(self) -> float | None: ...  # noqa: D102

    @property
    def lr(self) -> float | None: ...  # noqa: D102

    @property
    def p(self) -> float: ...  # noqa: D102

    @property
    def n_train(self) -> int | None: ...  # noqa: D102

    @property
    def data_path(self) -> str | None: ...  # noqa: D102

    @property
    def classes(self) -> int: ...  # noqa: D102

    @property
    def n_test(self) -> int: ...  # noqa: D102

    @property
    def probe_size(self) -> int: ...  # noqa: D102

    @property
    def cube_dims(self) -> int: ...  # noqa: D102

    @property
    def init(self) -> str: ...  # noqa: D102

    @property
    def init_scale(self) -> float | None: ...  # noqa: D102

    @property
    def init_norm(self) -> float | None: ...  # noqa: D102

    @property
    def label_smoothing(self) -> float: ...  # noqa: D102

    @property
    def dtype(self) -> str: ...  # noqa: D102

    @property
    def steps(self) -> int: ...  # noqa: D102

    @property
    def init_sigma(self) -> float: ...  # noqa: D102

    @property
    def target(self) -> str: ...  # noqa: D102

    @property
    def support(self) -> str: ...  # noqa: D102

    @property
    def truth_table(self) -> str | None: ...  # noqa: D102

    @property
    def bit_bias(self) -> float: ...  # noqa: D102

    @property
    def mix(self) -> float: ...  # noqa: D102

    @property
    def mix_bias(self) -> float: ...  # noqa: D102

    @property
    def curriculum(self) -> str | None: ...  # noqa: D102

    @property
    def din(self) -> int: ...  # noqa: D102

    @property
    def hidden_widths(self) -> tuple[int, ...]: ...  # noqa: D102

    @property
    def depth(self) -> int: ...  # noqa: D102

    @property
    def trained_layers(self) -> tuple[int, ...]: ...  # noqa: D102

    @property
    def errors(self) -> bool: ...  # noqa: D102
