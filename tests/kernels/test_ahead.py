"""Sampling ahead (``fastnoise/_kernels/loops.py``): the same runs as the plain step loop, bit for bit.

For models with ``evaluate`` and ``learn`` the production step loop draws sample t+1 between
step t's forward pass and its rule (and the two-layer net does step t's first-layer update and
step t+1's forward pass in one pass over its weights). The plain loop (one sample, then its update) is what a
replaced step builds (``driver.build(..., replace=...)``), so the two are compared here on every
kernel call: the tables, the weights, each replica's random stream, counters and status words,
through kernel-call boundaries, periodic checks, and replicas failing mid-run (a failed replica's
stored stream must be the one after its last sample, not after the sample drawn ahead).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from golden import tiny_images

import fastnoise
from fastnoise import engine, plan, state
from fastnoise._kernels import driver
from fastnoise._kernels.common import OK, S_CODE
from fastnoise.models import get_model, model_of

IMAGES = "<tiny images>"  # replaced by the folder of tests/golden.py's tiny image set

CASES: dict[str, dict[str, Any]] = {
    "neuron-pure-noise": dict(model="neuron", p=1.0),
    "neuron-bias-logistic": dict(model="neuron", bias=True, loss="logistic", p=0.3),
    "neuron-epochs-flip": dict(model="neuron", d=5, sampling="epochs", n_train=9, noise="flip", p=0.4),
    "neuron-cube": dict(model="neuron", data="cube", d=6, p=0.2),
    "twolayer": dict(model="twolayer", width=20, p=0.5),
    "twolayer-bias-smooth": dict(model="twolayer", width=9, bias=True, loss="logistic", label_smoothing=0.1, p=0.2),
    "twolayer-basis": dict(model="twolayer", data="basis", d=7, width=6, p=0.3),
    "twolayer-hidden-epochs": dict(model="twolayer", train="hidden", width=6, d=4, sampling="epochs", n_train=7, p=0.3),
    # the fused update-and-forward pass in both of forward()'s row orders: rows four at a time
    # (above, din * kp <= 4096) and one at a time (here, 31 x 200); and in float32
    "twolayer-wide-bias": dict(model="twolayer", width=200, bias=True, p=0.5),
    "twolayer-float32": dict(model="twolayer", width=40, dtype="float32", loss="logistic", p=0.4),
    # sparse inputs (images, a quarter of the pixels lit: tests/golden.py's set): the fused pass over
    # the rows either sample lights, and the records' sparse forward pass
    "twolayer-images": dict(model="twolayer", data="mnist", data_path=IMAGES, width=24, bias=True, p=0.3, lr=0.05),
    # Failures, inside a stretch of steps (linear checkpoints: not at a segment's end): a non-finite
    # output (the step fails before the next draw) and the underflow stop.
    "neuron-nonfinite": dict(model="neuron", lr=1e308, p=1.0, record_spacing="linear"),
    "twolayer-nonfinite": dict(model="twolayer", width=6, lr=1e250, p=1.0, record_spacing="linear"),
    "neuron-underflow": dict(model="neuron", lr=1e-300, init_scale=1e-300, p=1.0, record_spacing="linear"),
}


def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make runs use the plain step loop: the model's own update as a replaced step."""
    real = plan.kernels

    def plain(cfg, spec=None):
        kern = real(cfg, spec)
        return driver.build(
            model_of(cfg).kernel(), kern.spec, kern.loss, kern.sampler, kern.metrics, replace={"UPDATE": kern.update}
        )

    monkeypatch.setattr(plan, "kernels", plain)


def _calls(monkeypatch: pytest.MonkeyPatch, plain: bool, **params: Any) -> tuple[Any, list[dict[str, np.ndarray]]]:
    """A run's table and, after every kernel call, copies of its state (failures do not stop it)."""
    with monkeypatch.context() as m:
        if plain:
            _plain(m)
        m.setattr(engine, "choose_driver", lambda kern, blocks: kern.drive)  # the scalar driver (lanes: test_lanes)
        m.setattr(engine, "_raise_on_status", lambda status, cfg: None)  # a failed replica stays failed; the run goes on
        m.setattr(engine, "chunk_steps", lambda *a: 700)  # calls end between the periodic checks, and on them
        seen: list[dict[str, np.ndarray]] = []

        def keep(st: state.RunState) -> None:
            got = {k: np.array(getattr(st, k)) for k in ("state", "steps_done", "updates", "status")}
            got.update({f"arrays_{i}": np.array(a) for i, a in enumerate(st.arrays)})
            seen.append(got)

        res = engine.run(fastnoise.RunConfig(**params), threads=1, on_call=keep)
    return res, seen


#: Cases whose setting a golden table (written 2026-12-01, before the step loop sampled ahead) already holds
#: to the plain loop's table bit for bit: neuron-hinge, twolayer-hinge, neuron-logistic-bias; and cases whose
#: parts are held so and the rest to the NumPy reference step by step (tests/kernels/test_regimes.py, the
#: production loop): twolayer-bias-smooth (golden twolayer-logistic-bias; regimes twolayer-smooth),
#: twolayer-hidden-epochs (golden twolayer-hidden-basis; regimes twolayer-epochs, hidden-epochs). Each
#: compiles a plain-loop build of its own, so the default suite leaves them to `pytest -m slow`.
SLOW_CASES = {"neuron-pure-noise", "twolayer", "neuron-bias-logistic", "twolayer-bias-smooth", "twolayer-hidden-epochs"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_CASES else n for n in sorted(CASES)])
def test_sampling_ahead_is_the_plain_loop(monkeypatch, tmp_path, name):
    params = dict(CASES[name], replicas=3, steps=4_000, records=9, seed=21)
    if params.get("data_path") == IMAGES:
        params["data_path"] = tiny_images(tmp_path / "images")
    model = get_model(params["model"]).kernel()
    assert model.evaluate is not None and model.learn is not None  # the production loop samples ahead
    ahead, a_calls = _calls(monkeypatch, False, **params)
    plain, p_calls = _calls(monkeypatch, True, **params)
    assert len(a_calls) == len(p_calls) == 6  # 4000 steps in calls of 700
    for a, p in zip(a_calls, p_calls, strict=True):
        for k in a:
            assert np.array_equal(a[k].view(np.uint8), p[k].view(np.uint8)), k
    assert ahead.table.equals(plain.table)
    if name.endswith(("nonfinite", "underflow")):
        assert (a_calls[-1]["status"][:, S_CODE] != OK).all()  # every replica failed: the case tests what it says
    else:
        assert (a_calls[-1]["status"][:, S_CODE] == OK).all()
