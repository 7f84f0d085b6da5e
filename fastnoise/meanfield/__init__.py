"""The h -> 0 mean-field dynamics of label-noise SGD: exact one-step expectations, their flow in tau = h t, run-shaped tables.

One job per module:

- :mod:`.neuron`: the single neuron's one-step expectations (hinge in closed form, logistic by a
  1-D quadrature with an error bound), any label noise p, with or without bias;
- :mod:`.twolayer`: the two-layer net's one-step expectations over a scrambled Sobol rule (no
  closed form exists beyond two units), and the closed-form number of active units;
- :mod:`.flow`: the flows, integrated with ``scipy.integrate.solve_ivp``, with their O(h)
  second-moment terms (the mechanism of the first layer's decay in the nets; see its docstring);
- ``integrate``: the integration loop (``solve_ivp``'s), which reports progress to a
  :class:`Monitor` and stops when it asks, keeping what was integrated;
- :mod:`.table`: the flow of a run configuration at its checkpoints, as a table with a run's
  columns and ``source = "meanfield"`` (:func:`theory`);
- ``cost``: what a flow will cost before it is integrated, and which flows are out of reach
  (:func:`estimate`).

Nothing here imports the kernels (nor Numba): the flow only shares with the simulations the initial weights
(:func:`fastnoise.weights.initial_weights`) and the table's schema.
"""

from __future__ import annotations

from .cost import Cost, estimate
from .integrate import Monitor
from .table import SOURCE, TheoryResult, theory, unsupported

__all__ = ["SOURCE", "Cost", "Monitor", "TheoryResult", "estimate", "theory", "unsupported"]
