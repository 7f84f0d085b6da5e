"""The losses: each one entry that owns its per-sample rule, its multiclass form and its rules.

A :class:`Loss` names the compiled pieces of its rule (:class:`fastnoise._kernels.parts.LossKernel`:
the binary step's scale ``s(y, N(x))``, whether a zero scale means no update, and the C-class error
signal if it has one) and the configuration rules it adds. Built in: ``hinge`` (the paper's
perceptron-like rule: update only when ``y N(x) <= 0``) and ``logistic`` (cross-entropy; softmax
cross-entropy with ten classes). A new loss is one module defining a Loss, registered with
:func:`register_loss` (see docs/extending.md).
"""

from __future__ import annotations

from . import hinge, logistic
from .base import Loss, get_loss, loss_names, register_loss

__all__ = ["Loss", "get_loss", "loss_names", "register_loss"]


for x in (hinge.LOSS, logistic.LOSS):
    register_loss(x)
