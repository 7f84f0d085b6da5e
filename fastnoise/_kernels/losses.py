"""The built-in losses (:class:`.parts.LossKernel`): the hinge and the logistic loss.

Their templates are the rules that the models used to branch on (docs/model.md): the hinge
updates only when ``y*N(x) <= 0``, with ``s = 1``; the logistic loss at every step, with
``s = sigmoid(-y*N(x))`` (label smoothing, under the SMOOTH constant: ``s = y*(t - sigmoid(N))``
for the target t). Their C-class forms are the ten-class net's rules (:mod:`.multiclass`): the
multiclass hinge against the highest-scoring wrong class, and softmax cross-entropy.
"""

from __future__ import annotations

import math

from .common import sigmoid, targets
from .parts import LossKernel

SMOOTH = False  # rebound per Spec by the builder


def hinge_scale(y, out, P):
    """1.0 when the sample is misclassified or on the margin (y*N <= 0), else 0.0."""
    return 1.0 if y * out <= 0.0 else 0.0


def hinge_classes(s, y, C, e, P):
    """Multiclass hinge: with c* the highest-scoring wrong class, e = onehot(y) - onehot(c*) if s[c*] >= s[y]."""
    rival = -1
    for c in range(C):
        if c != y and (rival < 0 or s[c] > s[rival]):
            rival = c
    if s[rival] < s[y]:
        return False
    for c in range(C):
        e[c] = 0.0
    e[y] = 1.0
    e[rival] = -1.0
    return True


def logistic_scale(y, out, P):
    """sigmoid(-y*N); with label smoothing y*(t - sigmoid(N)) for the target t (y * y = 1 exactly)."""
    if SMOOTH:
        hi, lo = targets(P.smooth, 2)
        return y * ((hi if y > 0.0 else lo) - sigmoid(out))
    return sigmoid(-y * out)


def logistic_classes(s, y, C, e, P):
    """Softmax cross-entropy: e_c = t_c - softmax(s)_c (targets 1 and 0; smoothed: 1 - e + e/C and e/C)."""
    t_hi, t_lo = targets(P.smooth, C)  # exactly (1.0, 0.0) without smoothing
    m = s[0]
    for c in range(1, C):
        if s[c] > m:
            m = s[c]
    z = 0.0
    for c in range(C):
        e[c] = math.exp(s[c] - m)
        z += e[c]
    for c in range(C):
        e[c] = (t_hi if c == y else t_lo) - e[c] / z
    return True


HINGE_KERNEL = LossKernel("hinge", hinge_scale, conditional=True, classes=hinge_classes)
LOGISTIC_KERNEL = LossKernel("logistic", logistic_scale, conditional=False, classes=logistic_classes)
