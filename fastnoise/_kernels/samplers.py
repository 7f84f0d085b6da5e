"""The built-in input laws (:class:`.parts.SamplerKernel`): an input and its clean label, noise apart.

Each ``draw(P, D, st, ri, x) -> (j, clean, st)`` is one of :mod:`.draws`' primitive draws;
the step loops' :func:`.draws.sample_binary` adds the label noise. ``rows`` is the training set
``D.Xtr``, ``D.Ytr`` (row ``ri`` under epochs, else a uniform row), for ``n_train`` and images.

:data:`LAW_CODES`: the run-time codes of the same laws for :func:`.draws.draw_stream` (tests and
references replay a kernel's draws with it).
"""

from __future__ import annotations

from .boolean import boolean_target, draw_signs
from .draws import BASIS, CUBE, GAUSSIAN, TRAINSET, draw_basis, draw_cube, draw_gaussian, draw_row, uniform01
from .parts import SamplerKernel


def gaussian_draw(P, D, st, ri, x):
    """x ~ N(0, I_d); clean label sign(x_1)."""
    clean, st = draw_gaussian(x, P.d, st)
    return -1, clean, st


def basis_draw(P, D, st, ri, x):
    """x = e_j, j uniform; clean label +1 on the first ceil(d/2) vectors."""
    return draw_basis(x, P.d, st)


def cube_draw(P, D, st, ri, x):
    """x uniform on [-1, 1]^d; clean label +1 iff the first ``cube_k`` coordinates lie in [-c, c]."""
    clean, st = draw_cube(x, P.d, P.cube_c, P.cube_k, st)
    return -1, clean, st


def hypercube_draw(P, D, st, ri, x):
    """x in {-1, +1}^d, bits +1 w.p. q (w.p. ``mix``: the mixture's q); clean label the target on the support."""
    q = P.bit_q53
    if P.mix > 0.0:
        u, st = uniform01(st)
        if u < P.mix:
            q = P.mix_q53
    st = draw_signs(x, P.d, q, st)
    return -1, boolean_target(x, P.target, D.task_ints, D.task_reals), st


def rows_draw(P, D, st, ri, x):
    """A row of the training set (row ``ri`` if ``ri >= 0``: epochs) and its stored label."""
    clean, st = draw_row(x, P.d, D.Xtr, D.Ytr, st, ri)
    return -1, clean, st


GAUSSIAN_SAMPLER = SamplerKernel("gaussian", gaussian_draw, lanes=True)
BASIS_SAMPLER = SamplerKernel("basis", basis_draw, onehot=True)
CUBE_SAMPLER = SamplerKernel("cube", cube_draw)
HYPERCUBE_SAMPLER = SamplerKernel("hypercube", hypercube_draw)
ROWS_SAMPLER = SamplerKernel("rows", rows_draw)

#: The built-in samplers' run-time law codes, by name (for :func:`.draws.draw_stream` and :func:`.draws.draw_sample`).
LAW_CODES = {"gaussian": GAUSSIAN, "basis": BASIS, "cube": CUBE, "rows": TRAINSET}
