"""What a kernel is told about a run: typed, named fields instead of integer-indexed vectors.

- :class:`Params`: the run's scalars and small shape arrays, read as ``P.lr``, ``P.din``. A
  NamedTuple is passed by value and its field types are part of the compiled signature, so a
  misspelt field is a typing error when the kernel compiles, never a silent wrong slot.
- :class:`Spec`: the options that change the shape of the step loop (loss, input law,
  activation, sparse inputs). They are not read at run time: :func:`.driver.build` compiles one
  specialised copy of a model's loop per spec, with these values as compile-time constants.
- :class:`Data`: the arrays drawn once per run, shared read-only by every replica.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Params(NamedTuple):
    """Run parameters as the kernels see them (one type for every model; each reads its fields).

    d, din : input dimension, and the first layer's inputs (d + 1 with a bias).
    lr, p : learning rate h and label-noise rate.
    cube_k, cube_c : cube data, the label's coordinates and the cube's half-width.
    bias, errors, renorm : a bias on every layer; error columns filled; exact renormalisation on.
    train_v : two-layer nets, the output layer is trained.
    k, kp : two-layer nets, hidden width and its padded size.
    classes : outputs of the ten-class net (2 for binary tasks).
    depth : weight layers L (1 neuron, 2 two-layer net, L for an mlp).
    dims : int64[L + 1], n_0 = d, n_1 ... n_{L-1} hidden widths, n_L = 1 (mlp).
    kps : int64[L], padded width of each hidden layer (index l - 1 for layer l; mlp).
    roff : int64[L], first stored row of each hidden layer's weights (mlp).
    trained : int64[L], 1 if layer l (index l - 1) is trained (mlp).
    leak : slope of leaky units below 0.
    """

    d: int
    din: int
    lr: float
    p: float
    cube_k: int
    cube_c: float
    bias: bool
    errors: bool
    renorm: bool
    train_v: bool
    k: int
    kp: int
    classes: int
    depth: int
    dims: np.ndarray
    kps: np.ndarray
    roff: np.ndarray
    trained: np.ndarray
    leak: float


class Spec(NamedTuple):
    """Compile-time options of one specialised kernel (codes from :mod:`.common` / :mod:`.draws`)."""

    loss: int
    data: int
    act: int
    sparse: bool

    def tag(self) -> str:
        """A name fragment unique to this spec (compiled kernels are cached under it)."""
        return f"l{self.loss}d{self.data}a{self.act}s{int(self.sparse)}"


class Data(NamedTuple):
    """Sets drawn once per run: training (sampled by SGD), error evaluation, probe, test."""

    Xtr: np.ndarray
    Ytr: np.ndarray
    Xev: np.ndarray
    Yev: np.ndarray
    Xpr: np.ndarray
    Xte: np.ndarray
    Yte: np.ndarray
