"""What a loss is (:class:`Loss`) and the registry of losses (see :mod:`fastnoise.losses`)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..fields import RunFields
from ..registry import Registry

__all__ = ["Loss", "get_loss", "loss_names", "register_loss"]

#: The kernels' package, relative to this one (a renamed copy of the package, as bench/paired.py loads
#: one, finds its own kernels).
_KERNELS = __name__.rsplit(".", 2)[0] + "._kernels"


@dataclass(frozen=True)
class Loss:
    """A loss: its name, where its compiled rule lives, and what it allows.

    Attributes
    ----------
    name : str
        ``--loss`` (an identifier: it names compiled kernels).
    kernel_module, kernel_name : str
        The module (absolute, or relative to ``fastnoise._kernels``) and the name of its
        :class:`~fastnoise._kernels.parts.LossKernel`, imported on first use (:meth:`kernel`), so
        that naming a built-in loss does not load Numba.
    help : str
        One line for documentation.
    homogeneous : bool
        The rule is invariant under scaling all weights by one factor (the hinge): a net without
        bias can then be renormalised exactly (``engine.rescaling_exact``).
    discontinuous : bool
        The step's scale s(y, N(x)) jumps as a function of the output (the hinge: a step only where
        y N(x) <= 0). An average of it over a finite point set, as the mean-field flow of a net
        takes (:mod:`fastnoise.meanfield.twolayer`), is then a discontinuous field, which adaptive
        integrators cross only with tiny steps (``fastnoise.meanfield.cost``).
    smoothing : bool
        Label smoothing applies (``--label-smoothing``: targets for a probabilistic loss).
    multiclass : bool
        The loss has a C-class form (its kernel's ``classes``): ``--classes 10`` accepts it.
    part : LossKernel, optional
        The compiled rule itself, instead of ``kernel_module`` and ``kernel_name`` (a loss defined
        outside the package: its templates are plain functions, importing them loads no Numba).
    """

    name: str
    kernel_module: str = ""
    kernel_name: str = ""
    help: str = ""
    homogeneous: bool = False
    discontinuous: bool = False
    smoothing: bool = False
    multiclass: bool = False
    part: Any = None

    def kernel(self) -> Any:
        """The compiled rule (:class:`fastnoise._kernels.parts.LossKernel`), whose name must be the loss's."""
        if self.part is not None:
            return self.part
        return getattr(importlib.import_module(self.kernel_module, _KERNELS), self.kernel_name)

    def check(self, cfg: RunFields) -> None:
        """The rules this loss adds: label smoothing only for a loss that has targets; a C-class form for ten classes."""
        e = cfg.label_smoothing
        if isinstance(e, (int, float)) and e > 0.0 and not self.smoothing:
            able = " or ".join(x.name for x in _LOSSES.entries() if x.smoothing)
            raise ConfigError("label_smoothing", f"{e:g} applies only to --loss {able} (cross-entropy), got --loss {self.name}")
        if cfg.classes > 2 and not self.multiclass:
            raise ConfigError("loss", f"{self.name} has no {cfg.classes}-class form, got --classes {cfg.classes}")


_LOSSES: Registry[Loss] = Registry("loss", "loss")


def register_loss(loss: Loss) -> Loss:
    """Add ``loss`` to the vocabulary (``RunConfig(loss=loss.name)``); returns it.

    Raises
    ------
    ValueError
        Its name is not an identifier, or another loss already has it.
    """
    return _LOSSES.register(loss)


def loss_names() -> tuple[str, ...]:
    """The names ``--loss`` accepts."""
    return _LOSSES.names()


def get_loss(name: str) -> Loss:
    """The loss named ``name``.

    Raises
    ------
    ConfigError
        No loss has that name.
    """
    return _LOSSES.get(name)
