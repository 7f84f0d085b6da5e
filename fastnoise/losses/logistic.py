"""The logistic loss (cross-entropy): every step moves by h y sigmoid(-y N(x)).

With label smoothing e, the step's scale is t - sigmoid(N(x)) for the smoothed target t. Ten
classes: softmax cross-entropy, e = onehot(y) - softmax(s) (smoothed targets likewise).
"""

from __future__ import annotations

from .base import Loss

LOSS = Loss(
    name="logistic",
    kernel_module=".losses",
    kernel_name="LOGISTIC_KERNEL",
    help="Cross-entropy: every step, scaled by sigmoid(-y N(x))",
    discontinuous=False,  # sigmoid(-y N) is smooth in N
    smoothing=True,
    multiclass=True,
)
