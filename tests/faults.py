"""Deliberate engine faults, for the tests that show the theorem checks can fail.

Nothing in the package knows about faults: :func:`inject` makes :func:`fastnoise.plan.kernels`
return the same driver built with a faulty step (``driver.build(..., replace=...)``), so
:func:`fastnoise.engine.run` and :func:`fastnoise.probes.apply_step` run the broken rule.

- ``flip_sign``: every update taken the wrong way (the step size negated);
- ``ignore_noise``: the label noise ignored (every sample keeps its clean label);
- ``drop_bias_step``: the two-layer net's bias step dropped (hidden and output biases never move).
"""

from __future__ import annotations

import numba

from fastnoise import plan
from fastnoise._kernels import driver
from fastnoise._kernels.draws import draw_sample
from fastnoise._kernels.samplers import LAW_CODES
from fastnoise.models import model_of

FAULTS = ("flip_sign", "ignore_noise", "drop_bias_step")
# One faulty build per (fault, model, spec) for the whole session: faulty builds are never cached on
# disk, and apply_step asks for its kernels thousands of times per check.
_BUILT: dict = {}


def _flip_sign(real):
    @numba.njit
    def update(j, y, P, h, *w):
        return real(j, y, P, -h, *w)

    return {"UPDATE": update}


def _ignore_noise(data_code):
    @numba.njit
    def sample(P, D, st, ri, x):
        j, _, y, st = draw_sample(x, P.d, data_code, D.Xtr, D.Ytr, P.cube_c, P.cube_k, 0.0, st, False, ri)
        return j, y, st

    return {"SAMPLE": sample}


def _drop_bias_step(real):
    @numba.njit
    def update(j, y, P, h, x, W, Vb, pre, g, fired):
        if not P.bias:
            return real(j, y, P, h, x, W, Vb, pre, g, fired)
        hidden = W[P.d].copy()
        out_bias = Vb[P.kp]
        out, moved = real(j, y, P, h, x, W, Vb, pre, g, fired)
        W[P.d] = hidden
        Vb[P.kp] = out_bias
        return out, moved

    return {"UPDATE": update}


def inject(monkeypatch, fault: str, only: dict | None = None) -> None:
    """Make every run in this test use the faulty rule (undone by pytest's ``monkeypatch``).

    ``only`` (e.g. ``{"model": "neuron"}``) limits the fault to the runs whose configuration has those
    values; the others run the real engine. A test that expects one row of a check to fail need not
    compile faulty kernels for every other row (each faulty build is compiled afresh, ~5-15 s).
    """
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; allowed: {', '.join(FAULTS)}")
    real_kernels = plan.kernels

    def faulty(cfg, spec=None):
        kern = real_kernels(cfg, spec)
        if only is not None and any(getattr(cfg, k) != v for k, v in only.items()):
            return kern
        model = model_of(cfg).kernel()
        key = (fault, model.name, kern.spec)
        if key not in _BUILT:
            _BUILT[key] = _faulty_build(fault, model, kern)
        return _BUILT[key]

    monkeypatch.setattr(plan, "kernels", faulty)


def _faulty_build(fault, model, kern):
    """The same driver as ``kern``, with the fault's step in place of the model's."""
    if fault == "flip_sign":
        replace = _flip_sign(kern.update)
    elif fault == "ignore_noise":
        replace = _ignore_noise(LAW_CODES[kern.spec.sampler])
    elif model.name == "twolayer":
        replace = _drop_bias_step(kern.update)
    else:
        return kern
    return driver.build(model, kern.spec, kern.loss, kern.sampler, kern.metrics, replace=replace)
