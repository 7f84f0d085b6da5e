"""The built-in input laws (:class:`.parts.SamplerKernel`): an input and its clean label, noise apart.

Each ``draw(P, D, st, ri, x) -> (j, clean, st)`` is one of :mod:`.draws`' primitive draws;
the step loops' :func:`.draws.sample_binary` adds the label noise. ``rows`` is the training set
``D.Xtr``, ``D.Ytr`` (row ``ri`` under epochs, else a uniform row), for ``n_train`` and images.

:data:`LAW_CODES`: the run-time codes of the same laws for :func:`.draws.draw_stream` (tests and
references replay a kernel's draws with it).
"""

from __future__ import annotations

import numpy as np

from .boolean import LANES as BIT_LANES
from .boolean import bernoulli_word, draw_hypercube, lane_targets
from .draws import BASIS, CUBE, GAUSSIAN, TRAINSET, draw_basis, draw_cube, draw_gaussian, draw_row, uniform01
from .lanes import LANES, lane_signs, lane_state, lane_uniform_bits, put_lane_words
from .parts import SamplerKernel

HALF53 = 1 << 52  # q = 1/2 as the kernels' 53-bit integer


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
    clean, st = draw_hypercube(x, P.d, q, P.target, D.task_ints, D.task_reals, P.sup_mask, P.sup_first, st)
    return -1, clean, st


def hypercube_lane_draw(P, D, S, X, alive, clean, W):
    """:func:`hypercube_draw` for every live lane of a lane block (:mod:`.lanes`), each from its own stream.

    Lane l's input goes to ``X[i*LANES + l]``, its clean label to ``clean[l]``; ``W`` (uint64,
    LANES entries) is scratch. Each lane's draws are the scalar draw's, in its order (so lanes and
    the scalar driver give the same table): per word of 56 bits, each lane's word from its own
    stream, then the bits of all lanes turned into +-1 coordinate by coordinate (a loop over the
    lanes with unit stride, which the compiler vectorises).
    """
    for lane in range(LANES):  # each lane's law, q53 held as a float (exact: below 2**53) until its label
        clean[lane] = P.bit_q53
    if P.mix > 0.0:  # the scalar order: the mixture's uniform, then the bits
        for lane in range(LANES):
            if alive[lane]:
                st = lane_state(S, lane)
                u, st = uniform01(st)
                if u < P.mix:
                    clean[lane] = P.mix_q53
                put_lane_words(S, lane, st[0], st[1], st[2], st[3])  # the label bits are left alone
    uniform = P.bit_q53 == HALF53 and P.mix <= 0.0  # one output per word in every lane: all lanes at once
    i = 0
    while i < P.d:
        n = min(BIT_LANES, P.d - i)
        if uniform:  # (lanes not alive advance too: their rows of S are never read again)
            lane_uniform_bits(S, W)
        else:
            for lane in range(LANES):
                if alive[lane]:
                    st = lane_state(S, lane)
                    W[lane], st = bernoulli_word(np.int64(clean[lane]), st)
                    put_lane_words(S, lane, st[0], st[1], st[2], st[3])
        lane_signs(W, X, i, n)
        i += n
    lane_targets(X, P.target, D.task_ints, D.task_reals, clean)


def rows_draw(P, D, st, ri, x):
    """A row of the training set (row ``ri`` if ``ri >= 0``: epochs) and its stored label."""
    clean, st = draw_row(x, P.d, D.Xtr, D.Ytr, st, ri)
    return -1, clean, st


GAUSSIAN_SAMPLER = SamplerKernel("gaussian", gaussian_draw, lanes=True)
BASIS_SAMPLER = SamplerKernel("basis", basis_draw, onehot=True)
CUBE_SAMPLER = SamplerKernel("cube", cube_draw)
HYPERCUBE_SAMPLER = SamplerKernel("hypercube", hypercube_draw, lane_draw=hypercube_lane_draw)
ROWS_SAMPLER = SamplerKernel("rows", rows_draw)

#: The built-in samplers' run-time law codes, by name (for :func:`.draws.draw_stream` and :func:`.draws.draw_sample`).
LAW_CODES = {"gaussian": GAUSSIAN, "basis": BASIS, "cube": CUBE, "rows": TRAINSET}
