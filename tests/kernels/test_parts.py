"""A loss and an input law defined outside the package (parts.LossKernel, parts.SamplerKernel) run in the kernels.

The toy parts: the squared hinge (the step moves by h*y*2*max(0, 1 - y*N)) and inputs uniform on
the unit sphere with the target sign(x_1). Built with driver.build like the built-in parts and
run through the engine (its kernels replaced), the single neuron matches a plain-Python
reference on the same draws, bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fastnoise import RunConfig, _rng, engine, plan, weights
from fastnoise._kernels import driver
from fastnoise._kernels.draws import GAUSSIAN, draw_gaussian, draw_stream
from fastnoise._kernels.parts import LossKernel, SamplerKernel
from fastnoise.models import model_of, neuron, tenclass


def sqhinge_scale(y, out, P):
    m = 1.0 - y * out
    return 2.0 * m if m > 0.0 else 0.0


def sphere_draw(P, D, st, ri, x):
    _, st = draw_gaussian(x, P.d, st)
    ss = 0.0
    for i in range(P.d):
        ss += x[i] * x[i]
    r = math.sqrt(ss)
    for i in range(P.d):
        x[i] = x[i] / r
    return -1, 1.0 if x[0] > 0.0 else -1.0, st


SQHINGE = LossKernel("sqhinge", sqhinge_scale, conditional=True)
SPHERE = SamplerKernel("sphere", sphere_draw)  # lanes=False: the neuron's lane step draws plain normals only


def _kernels(cfg, spec=None):
    spec = plan.kernel_spec(cfg)._replace(loss="sqhinge", sampler="sphere")
    return driver.build(model_of(cfg).kernel(), spec, SQHINGE, SPHERE)


def _reference(cfg, replica, steps):
    """The squared-hinge neuron on sphere inputs, in plain Python, on the kernel's draws."""
    row = _rng.kernel_state(cfg.seed, replica + 1)[replica].copy()
    xs, clean, ys = np.zeros((steps, cfg.d)), np.zeros(steps), np.zeros(steps)
    draw_stream(row, steps, cfg.d, GAUSSIAN, np.zeros((1, cfg.d)), np.zeros(1), 0.0, 0, 0.0, xs, clean, ys)  # p = 0: normals only
    V = np.array(weights.initial_weights(cfg, replica)["V"], dtype=float)
    h = float(cfg.lr)
    for t in range(steps):
        x = xs[t].copy()
        ss = 0.0
        for i in range(cfg.d):
            ss += x[i] * x[i]
        r = math.sqrt(ss)
        for i in range(cfg.d):
            x[i] = x[i] / r
        y = 1.0 if x[0] > 0.0 else -1.0
        out = 0.0
        for i in range(cfg.d):
            out += V[i] * x[i]
        m = 1.0 - y * out
        s = 2.0 * m if m > 0.0 else 0.0
        if s != 0.0:
            V += h * y * s * x
    return V


@pytest.mark.parametrize("replicas", [2, 8])
def test_outside_parts_run_in_the_kernels(monkeypatch, replicas):
    monkeypatch.setattr(plan, "kernels", _kernels)
    cfg = RunConfig(model="neuron", d=5, lr=0.05, p=0.0, steps=3000, replicas=replicas, records=3, seed=4)
    kern = _kernels(cfg)
    name = getattr(kern.drive, "py_func", kern.drive).__qualname__  # a plain function under NUMBA_DISABLE_JIT
    assert "sqhinge" in name and "sphere" in name
    assert kern.drive_lanes is None
    res = engine.run(cfg, threads=1)
    for r in range(replicas):
        np.testing.assert_array_equal(res.weights[r]["V"], _reference(cfg, r, cfg.steps))


def test_a_loss_without_a_class_form_is_refused_by_the_ten_class_net():
    cfg = RunConfig(model="twolayer", d=5, width=8)
    spec = plan.kernel_spec(cfg)._replace(loss="sqhinge", sampler="sphere")
    with pytest.raises(ValueError, match="LOSS_CLASSES"):
        driver.build(tenclass.MODEL.kernel(), spec, SQHINGE, SPHERE)


def test_parts_must_be_the_ones_the_spec_names():
    cfg = RunConfig(model="neuron", d=5)
    with pytest.raises(ValueError, match="sqhinge"):
        driver.build(neuron.MODEL.kernel(), plan.kernel_spec(cfg)._replace(loss="other"), SQHINGE, SPHERE)


def test_the_stream_of_an_outside_task_is_never_cached_on_disk():
    """draw_stream_of takes an outside task's compiled draw as an argument: Numba would pickle that part's
    type into the function's one cache index, and a process that cannot import the part's module (the
    tutorial's notebook after this suite had run) failed to read the index at all. It is compiled per process."""
    from numba.core.caching import NullCache

    from fastnoise._kernels.draws import draw_stream_of

    assert draw_stream_of._cache.__class__ is NullCache
