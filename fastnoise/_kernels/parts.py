"""The parts a run plugs into a model's templates: its loss, its sampler (an input law and its clean target), its task's columns.

A model's templates do not know which loss or input law they run: they call the templates of a
:class:`LossKernel` and a :class:`SamplerKernel` that the caller hands to :func:`.build.build`,
which compiles them into the model's specialised copies as it does the model's own roles
(``LOSS_SCALE``, ``LOSS_CLASSES``, ``DRAW``; constants ``LOSS_CONDITIONAL`` and ``ONEHOT``; see
:data:`.params.BINDINGS`). A task that records columns of its own at each checkpoint (the
hypercube's progress measures) hands a :class:`MetricsKernel` too. A part may live outside the package: its templates are plain
functions with the signatures below, written with the same rules as the package's (no Python
objects, no validation, parameters by name: ``P.lr``).

Imports nothing above :mod:`fastnoise._kernels`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

__all__ = ["LossKernel", "MetricsKernel", "SamplerKernel"]


class LossKernel(NamedTuple):
    """A loss as the kernels see it.

    Parameters
    ----------
    name : str
        Identifier-safe ("hinge", "logistic", "sqhinge"); part of compiled kernels' names.
    scale : callable
        Template ``scale(y, out, P) -> s``: the binary step moves by ``h*y*s`` (``y`` the
        label +-1, ``out`` = N(x), finite).
    conditional : bool
        True: a step updates only when ``s != 0.0`` (the hinge: only if y*N <= 0);
        False: every step updates (logistic), even if ``s`` underflows to 0.
    classes : callable or None
        Template ``classes(s, y, C, e, P) -> bool``: for C-class nets, fill ``e[:C]`` with
        the error signal from the scores ``s`` and the class ``y``; False: no update. None: this
        loss has no C-class form.
    helpers : tuple of callables
        Templates it calls that must be specialised too (those that read spec constants).
    """

    name: str
    scale: Callable
    conditional: bool
    classes: Callable | None = None
    helpers: tuple[Callable, ...] = ()


class SamplerKernel(NamedTuple):
    """An input law and its clean target, as the kernels see it.

    Parameters
    ----------
    name : str
        Identifier-safe ("gaussian", "basis", "cube", "rows"); part of compiled kernels' names.
    draw : callable
        Template ``draw(P, D, st, ri, x) -> (j, clean, st)``: an input into ``x[:P.d]``, its
        clean label +-1, ``j`` its basis index or -1 (``ri``: the training row of an epoch, or -1).
    onehot : bool
        The inputs are basis vectors e_j (models take their one-hot path).
    lanes : bool
        The neuron's lane step can draw this law itself (it draws standard normals).
    helpers : tuple of callables
        Templates it calls that must be specialised too.
    lane_draw : callable or None
        Template ``lane_draw(P, D, S, X, alive, clean, W)``: the draw of every live lane of a
        lane block at once (``_kernels/lanes.py``: lane l's input into ``X[i*LANES + l]``, its clean label
        into ``clean[l]``; ``W`` uint64 scratch of LANES entries), each lane's draws exactly the
        scalar ``draw``'s from its own stream.
        With it, a model's lane steps run this law (``Lanes.steps_drawn``). None: no lane form.
    """

    name: str
    draw: Callable
    onehot: bool = False
    lanes: bool = False
    helpers: tuple[Callable, ...] = ()
    lane_draw: Callable | None = None


class MetricsKernel(NamedTuple):
    """A task's own columns, recorded at each checkpoint after the model's (as the kernels see them).

    Parameters
    ----------
    name : str
        Identifier-safe ("hypercube"); part of compiled kernels' names (``Spec.metrics``).
    record : callable
        Template ``record(P, D, log2, out_row, w)``: the task's columns, the last ones of
        ``out_row``, from one replica's views ``w`` (a tuple, the input buffer first; weights stored
        ``2**log2`` times their true size). It reads the model through the model's templates
        ``OUTPUT_AT(P, w)`` (N(x) for the input in ``w[0]``, weights as stored) and
        ``FIRST_LAYER(P, w)`` (``(flat, stride, units)``: unit i's weight on input j is
        ``flat[j * stride + i]``), bound like the driver's roles (``driver.Model``).
    helpers : tuple of callables
        Templates it calls that must be specialised too.
    """

    name: str
    record: Callable
    helpers: tuple[Callable, ...] = ()
