"""The slides' experiments (figures 1, 2, 3, 5-6 and 7-8) and their questions asked of deep nets.

One function each (the deep nets' is ``deep``). Each experiment runs the engine, writes its
tables under ``results/<name>/`` (Parquet, one file per run configuration) and draws its figure
there as PNG and PDF, with replicas shown as a median and a 10-90 % band. ``quick=True``
shrinks each to well under a minute (for tests); the default sizes are the paper's where known
(docs/model.md section 3), otherwise ours, stated in :data:`EXPERIMENTS`.

One module per group of figures (:mod:`.slides`: figs. 1-3; :mod:`.cube_task`: figs. 5-6;
:mod:`.mnist_task`: figs. 7-8; :mod:`.deep_nets`: deep nets; :mod:`.l2_noise`, :mod:`.conventions_task`:
training regimes; :mod:`.dying`: the mean field against Fig. 3's dying ReLUs; :mod:`.parity`: parities
on the hypercube, measured by :mod:`.parity_analysis` and reported by :mod:`.parity_report`); tables are written by
:mod:`.output`. This module holds the registry (:data:`EXPERIMENTS`), :func:`run_experiment`
and :func:`plot_table` (any run table).

The registry is light: each experiment's function is imported when it runs, and the other names
here (the experiment functions and their settings) when first touched (PEP 562 ``__getattr__``),
so ``fastnoise reproduce --list`` loads neither the engine nor pandas.
"""

from __future__ import annotations

import importlib
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._lazy import lazy_attributes

if TYPE_CHECKING:  # for type checkers and IDEs: the names as if imported eagerly
    import pandas as pd

    from .cube_task import CUBES, CUBES_N, CUBES_P, cubes
    from .deep_nets import DEEP, DEEP_VARIANTS, DEEP_WIDTHS, deep
    from .dying import dying
    from .mnist_task import MNIST, MNIST10_REGIMES, MNIST_P, MNIST_REGIMES, mnist
    from .slides import fig1, fig2, fig3

__all__ = [
    "CUBES",
    "CUBES_N",
    "CUBES_P",
    "DEEP",
    "DEEP_VARIANTS",
    "DEEP_WIDTHS",
    "EXPERIMENTS",
    "MNIST",
    "MNIST10_REGIMES",
    "MNIST_P",
    "MNIST_REGIMES",
    "Experiment",
    "cubes",
    "deep",
    "dying",
    "fig1",
    "fig2",
    "fig3",
    "mnist",
    "plot_table",
    "run_experiment",
]


@dataclass(frozen=True)
class Experiment:
    """A reproducible figure: what it shows, its parameters, and its expected run time."""

    name: str
    figure: str
    description: str
    parameters: str
    minutes_full: float
    run: Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class _Deferred:
    """The experiment function ``"module:function"`` of this package, imported when called.

    ``fixed``: keyword arguments it is always given (``(("classes", 10),)``).
    """

    target: str
    fixed: tuple[tuple[str, Any], ...] = ()

    def __call__(self, out: Path, quick: bool = False, seed: int = 0) -> dict[str, Any]:
        module, _, function = self.target.partition(":")
        run: Callable[..., dict[str, Any]] = getattr(importlib.import_module(f".{module}", __name__), function)
        return run(out, quick=quick, seed=seed, **dict(self.fixed))


#: The experiments by name, in the order ``fastnoise reproduce all`` runs them.
EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment(
            "fig1",
            "Fig. 1",
            "single neuron, norm vs steps under pure noise",
            "neuron, hinge, d=30, h=1/d^2, x~N(0,I), 1e6 steps, 32 replicas",
            0.2,
            _Deferred("slides:fig1"),
        ),
        Experiment(
            "fig2",
            "Fig. 2",
            "two-layer net without bias, norms vs steps, (a) cross-entropy (b) hinge",
            "width 100 [ours], d=30, h=1/d, 1e7 steps, 8 replicas",
            5.5,
            _Deferred("slides:fig2"),
        ),
        Experiment(
            "fig3",
            "Fig. 3",
            "two-layer net with bias: norms and active neurons vs steps (dying ReLUs)",
            "width 120, d=30, cross-entropy, h=1/900, U[-sqrt3,sqrt3], 2e8 steps, 4 replicas [note]",
            25.0,
            _Deferred("slides:fig3"),
        ),
        Experiment(
            "cubes",
            "Figs. 5-6",
            "learning a square in d=60 with label noise p: errors and active neurons vs p",
            "K=2 of d=60, n=1000 and 2000, width 800, bias, fan-in init, cross-entropy, h=1/60, 3e5 steps, p=0..0.9, "
            "4 replicas [ours]",
            3.0,
            _Deferred("cube_task:cubes"),
        ),
        Experiment(
            "mnist",
            "Figs. 7-8",
            "MNIST even vs odd under label noise p: errors and active neurons vs p",
            "width 256, no bias, fan-in init, 2 epochs; (cross-entropy, h=0.01), (hinge, 0.01), (hinge, 0.001); p=0..0.9; "
            "2 replicas [ours]; needs `fastnoise data fetch mnist`",
            6.0,
            _Deferred("mnist_task:mnist"),
        ),
        Experiment(
            "mnist10",
            "Figs. 7-8",
            "MNIST, ten classes, under label noise p (noise from all ten classes): errors and active neurons vs p",
            "as mnist, 10 outputs; (softmax cross-entropy, h=0.01), (multiclass hinge, 0.001), (multiclass hinge, 0.0001) [ours]",
            8.0,
            _Deferred("mnist_task:mnist", (("classes", 10),)),
        ),
        Experiment(
            "deep",
            "[ours]",
            "the pure-noise questions for deep nets: per-layer norms and active units, 2-4 weight layers",
            "mlp, hidden width 120, depth 2/3/4, bias or not, hinge and cross-entropy, d=30, h=1/d, x~N(0,I), "
            "fan-in init, 3e5 steps, 4 replicas [ours]",
            2.5,
            _Deferred("deep_nets:deep"),
        ),
        Experiment(
            "l2-vs-noise",
            "[ours]",
            "MNIST even vs odd: label noise p against weight decay l: test error, per-layer norms, active neurons",
            "the mnist setting's cross-entropy regime (width 256, h=0.01, 2 epochs, 2 replicas); p in {0, 0.2, 0.5} x "
            "l in {0, 1e-4, 1e-3, 1e-2}; needs `fastnoise data fetch mnist`",
            13.0,
            _Deferred("l2_noise:l2_vs_noise"),
        ),
        Experiment(
            "l2-vs-noise10",
            "[ours]",
            "as l2-vs-noise with the ten classes (softmax cross-entropy, noise from all ten classes)",
            "as l2-vs-noise, 10 outputs; needs `fastnoise data fetch mnist`",
            20.0,
            _Deferred("l2_noise:l2_vs_noise", (("classes", 10),)),
        ),
        Experiment(
            "conventions",
            "[ours]",
            "cubes task: noise uniform/flip x fresh/fixed at matched flip rates r (uniform p=2r, flip p=r)",
            "the cubes setting at n=1000 (width 800, h=1/60, 3e5 steps, 4 replicas); r in {0.05, 0.1, 0.25} and p=0",
            9.0,
            _Deferred("conventions_task:conventions"),
        ),
        Experiment(
            "dying",
            "Fig. 3 [ours]",
            "where the mean field holds: time to half the active neurons, flow vs simulations (reduced net) and Fig. 3's size",
            "cross-entropy, bias, pure noise; d=10, width 20, h in {0.01, 0.005, 0.0025} to h t = 4000, 8 replicas, "
            "2 flows over 2^11 points; d=30, width 120, h=1/900 (3e7 steps) and 1/1800 (6e7), 4 replicas, simulations only",
            16.0,
            _Deferred("dying:dying"),
        ),
        Experiment(
            "parity",
            "[ours]",
            "k-parities on the hypercube: time to learn vs d, label noise vs h, curriculum, initialisation",
            "width 100, bias, hinge, fan-in init, h=0.05: (a) k=2,3,4, d=10..60, 16/16/8 replicas; (b) d=30, k=3, "
            "p in {0,...,0.4} x h in {0.005,...,0.1} to h t = 2e4, 6 replicas; (c) curriculum Rad(q) then uniform, "
            "k=5 at d=30, k=4 at d=50, 1e6 steps, 8 replicas; (d) d=20, k=20 and 19, width 300, h=0.003, Rademacher "
            "+- sigma vs Gaussian and uniform init, 1e6 steps, 6 replicas",
            7.0,
            _Deferred("parity:parity"),
        ),
    )
}


def run_experiment(name: str, out_root: Path, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Run one experiment into ``out_root/name`` and return its summary (with ``seconds``)."""
    t0 = time.perf_counter()
    summary = EXPERIMENTS[name].run(out_root / name, quick=quick, seed=seed)
    summary["seconds"] = time.perf_counter() - t0
    return summary


def plot_table(df: pd.DataFrame, path: Path) -> list[Path]:
    """Draw norms, active neurons and errors against steps from any run table (one band per configuration)."""
    from ..plotting import plot_runs

    return plot_runs(df, path)


#: Public name -> the submodule that defines it (imported on first use; conventions and l2_vs_noise: not in __all__).
_LAZY = {
    "conventions": "conventions_task",
    "CUBES": "cube_task",
    "CUBES_N": "cube_task",
    "CUBES_P": "cube_task",
    "cubes": "cube_task",
    "DEEP": "deep_nets",
    "DEEP_VARIANTS": "deep_nets",
    "DEEP_WIDTHS": "deep_nets",
    "deep": "deep_nets",
    "dying": "dying",
    "l2_vs_noise": "l2_noise",
    "MNIST": "mnist_task",
    "MNIST10_REGIMES": "mnist_task",
    "MNIST_P": "mnist_task",
    "MNIST_REGIMES": "mnist_task",
    "mnist": "mnist_task",
    "fig1": "slides",
    "fig2": "slides",
    "fig3": "slides",
}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())


class _Package(types.ModuleType):
    """The package's module type: its function ``dying`` is not replaced by its submodule ``dying`` once that is imported.

    The import system binds each imported submodule as an attribute of its package; an eager
    ``from .dying import dying`` used to rebind the name to the function afterwards, so here the
    binding of a submodule over a public name of the same name is skipped.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _LAZY.get(name) == name:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
