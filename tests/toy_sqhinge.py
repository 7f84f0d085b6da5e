"""A toy loss, added from outside the package: the squared hinge (1/2) max(0, 1 - y N(x))^2.

Its gradient step moves the output by h y max(0, 1 - y N(x)): the binary scale below, zero (no
update) once the margin reaches 1. It has no ten-class form. The whole loss is this file
(docs/extending.md uses it as the example); importing it registers the loss ``sqhinge``.
"""

from __future__ import annotations

from fastnoise import Loss, register_loss
from fastnoise._kernels.parts import LossKernel


def sqhinge_scale(y, out, P):
    """max(0, 1 - y N): the step moves by h y times this."""
    m = 1.0 - y * out
    return m if m > 0.0 else 0.0


LOSS = register_loss(
    Loss(
        name="sqhinge",
        help="Squared hinge (1/2) max(0, 1 - y N(x))^2: steps scaled by the margin's shortfall",
        part=LossKernel("sqhinge", sqhinge_scale, conditional=True),
    )
)
