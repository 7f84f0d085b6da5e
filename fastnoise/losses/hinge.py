"""The hinge (the paper's perceptron-like rule): a step updates only when y N(x) <= 0, by h y.

Ten classes: the multiclass hinge against the highest-scoring wrong class c*, only if
s[c*] >= s[y]. Homogeneous: scaling every weight by one factor maps trajectories to trajectories.
Discontinuous: the step's scale jumps from h to 0 where y N(x) crosses 0.
"""

from __future__ import annotations

from .base import Loss

LOSS = Loss(
    name="hinge",
    kernel_module=".losses",
    kernel_name="HINGE_KERNEL",
    help="Hinge (perceptron rule): update only when y N(x) <= 0",
    homogeneous=True,
    discontinuous=True,
    multiclass=True,
)
