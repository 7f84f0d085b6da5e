"""The Boolean hypercube: x in {-1, +1}^d with Rad(q) bits, and a parity, staircase, majority or junta on a support.

Conventions (docs/model.md, "The Boolean hypercube"):

- ``--bit-bias q`` is P(x_i = +1), the bits independent, so E[x_i] = 2q - 1 (Rad(q)); 0.5 is the
  uniform law. With ``--mix m`` an input is drawn, with probability m, from Rad(``--mix-bias``)
  instead (the sparse and dense mixture of arXiv 2306.16921: sparse inputs have few -1 bits).
- ``--support`` names the target's bits S = (s_1, ..., s_k), 1-based: ``"3"`` is (1, 2, 3),
  ``"1,5,9"`` those bits in that order (a single bit j is ``"j,"``).
- The targets: parity chi_S(x) = x_s1 ... x_sk; staircase sign(x_s1 + x_s1 x_s2 + ... + x_s1...x_sk)
  (arXiv 2202.08658); majority sign(x_s1 + ... + x_sk); junta a truth table of the 2**k patterns.
  Ties of the staircase and the majority (k even) go to x_s1, so the majority stays balanced.
- ``--curriculum`` is a schedule of input laws within one run (arXiv 2301.13833); the training,
  probe and test sets are always drawn from the run's own law (its ``bit_bias``, ``mix``).
  :meth:`Hypercube.schedule` hands the stages to the engine, which switches the kernels' law
  exactly at each stage's first step (docs/running.md, "Curricula").
- Its tables carry progress measures (:func:`progress_names`, docs/table.md): ``target_corr``,
  ``mass_support``, ``mass_off`` and ``fourier_<bits>``, computed in the kernels at each
  checkpoint (:mod:`fastnoise._kernels.progress`).

The kernels draw the same law (:mod:`fastnoise._kernels.boolean`); this module draws the sets in
numpy and parses the options.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..fields import RunFields
from ..options import TARGETS, parse_count
from .base import Task

__all__ = [
    "Hypercube",
    "Stage",
    "boolean_labels",
    "curriculum_stages",
    "fourier_subsets",
    "parse_curriculum",
    "parse_support",
    "parse_truth_table",
    "progress_names",
]

#: The options only this task reads (an error with any other task unless at their defaults).
OWNED = ("target", "support", "truth_table", "bit_bias", "mix", "mix_bias", "curriculum")
#: Fourier columns of every subset of the support up to this k (the kernels' own constant,
#: ``fastnoise._kernels.progress.FOURIER_ALL_MAX``, repeated so that the vocabulary loads without Numba;
#: tests/kernels/test_progress.py checks that they agree).
FOURIER_ALL_MAX = 4
#: The largest junta: a truth table of 2**20 entries.
MAX_JUNTA = 20
#: The longest staircase (the kernels hold the support's bits in one 64-bit word).
MAX_STAIRCASE = 63
_KEYS = {"bit-bias": "bit_bias", "mix": "mix", "mix-bias": "mix_bias"}


def q53(q: float) -> int:
    """``q`` as the 53-bit integer the kernels compare with: ``round(q * 2**53)`` (P(x_i = +1) = q53 / 2**53).

    Plain Python, so that the vocabulary loads without Numba (:mod:`fastnoise._kernels.boolean`).
    """
    return int(round(q * 2.0**53))


def parse_support(text: str, d: int) -> tuple[int, ...]:
    """``--support`` as 0-based bit indices: ``"3"`` -> (0, 1, 2); ``"1,5,9"`` -> (0, 4, 8).

    Raises
    ------
    ConfigError
        Empty, not integers, a bit outside 1..d, or a bit named twice (``support``).
    """
    t = str(text).strip()
    if not t or not t.strip(","):
        raise ConfigError("support", f"must name at least one bit (k, or a list such as 1,5,9), got {text!r}")
    items = [s.strip() for s in t.split(",")]
    if items[-1] == "" and len(items) == 2:  # "j,": the single bit j
        items = items[:1]
    elif len(items) == 1:
        try:
            k = parse_count(items[0])
        except ValueError:
            raise ConfigError("support", f"must be k (the first k bits) or a list such as 1,5,9, got {text!r}") from None
        if not 1 <= k <= d:
            raise ConfigError("support", f"must be between 1 and d = {d} bits, got {k}")
        return tuple(range(k))
    try:
        bits = [int(s) for s in items]
    except ValueError:
        raise ConfigError("support", f"must be a list of bits such as 1,5,9, got {text!r}") from None
    bad = [b for b in bits if not 1 <= b <= d]
    if bad:
        raise ConfigError("support", f"bits must lie in 1..{d} (d), got {bad[0]} in {text!r}")
    if len(set(bits)) != len(bits):
        raise ConfigError("support", f"names a bit twice: {text!r}")
    return tuple(b - 1 for b in bits)


def parse_truth_table(text: str | None, k: int) -> np.ndarray:
    """``--truth-table`` as 2**k labels +-1 (``+-`` or ``10`` characters).

    Raises
    ------
    ConfigError
        Missing, a character other than + - 1 0, or not 2**k entries (``truth_table``).
    """
    if text is None:
        raise ConfigError("truth_table", f"is needed by --target junta: 2**k = {2**k} signs such as +--+")
    t = str(text).strip()
    if not re.fullmatch(r"[+-]+|[01]+", t):
        raise ConfigError("truth_table", f"must be a string of + and - (or of 1 and 0), got {text!r}")
    if len(t) != 2**k:
        raise ConfigError("truth_table", f"must have 2**k = {2**k} entries for a support of k = {k} bits, got {len(t)}")
    return np.array([1.0 if c in "+1" else -1.0 for c in t])


@dataclass(frozen=True)
class Stage:
    """One stage of a curriculum: from step ``start`` on, fresh inputs are drawn from this law."""

    start: int
    bit_bias: float
    mix: float
    mix_bias: float


def _law_value(key: str, text: str, spec: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ConfigError("curriculum", f"{key}={text!r} is not a number in stage {spec!r}") from None
    lo_open = key != "mix"
    if not (v > 0.0 if lo_open else v >= 0.0) or not (v < 1.0 if lo_open else v <= 1.0):
        allowed = "in (0, 1)" if lo_open else "in [0, 1]"
        raise ConfigError("curriculum", f"{key} must be {allowed}, got {text} in stage {spec!r}")
    return v


def curriculum_stages(text: str) -> list[str]:
    """The stage texts of ``--curriculum``, stripped: stages are separated by ``,`` or ``|`` (the same).

    ``|`` lets a sweep's ``--grid``, whose values are separated by commas, hold curricula:
    ``--grid "curriculum=bit-bias=0.9:2e5|bit-bias=0.5,bit-bias=0.7:2e5|bit-bias=0.5"``.
    """
    return [s.strip() for s in re.split(r"[,|]", str(text))]


def parse_curriculum(text: str, cfg: RunFields) -> tuple[Stage, ...]:
    """``--curriculum`` as stages: ``"bit-bias=0.9:2e5,bit-bias=0.5"`` -> stages from step 0 and 200000.

    Stages are separated by ``,`` or ``|`` (:func:`curriculum_stages`). The last stage runs to the
    end of the run: it may have a length only if that ends it at ``steps``.

    Raises
    ------
    ConfigError
        A stage that does not parse, an unknown key, a value out of range, a stage without a
        length before the last, a stage starting at or after ``steps``, or a last stage whose
        length does not end at ``steps`` (``curriculum``).
    """
    specs = curriculum_stages(text)
    if not specs or any(not s for s in specs):
        raise ConfigError("curriculum", f"must be stages such as bit-bias=0.9:2e5,bit-bias=0.5, got {text!r}")
    stages: list[Stage] = []
    start = 0
    for n, spec in enumerate(specs):
        law, sep, length = spec.partition(":")
        values = {"bit_bias": cfg.bit_bias, "mix": cfg.mix, "mix_bias": cfg.mix_bias}
        for item in law.split(";"):
            key, eq, value = (s.strip() for s in item.partition("="))
            if not eq or key not in _KEYS:
                raise ConfigError(
                    "curriculum", f"stage {spec!r}: expected key=value with key one of {', '.join(_KEYS)}, got {item.strip()!r}"
                )
            values[_KEYS[key]] = _law_value(key, value, spec)
        if isinstance(cfg.steps, int) and start >= cfg.steps:
            raise ConfigError("curriculum", f"stage {n + 1} ({spec!r}) starts at step {start}, at or after --steps {cfg.steps}")
        stages.append(Stage(start, values["bit_bias"], values["mix"], values["mix_bias"]))
        if sep:
            try:
                steps = parse_count(length.strip())
            except ValueError:
                msg = f"stage {spec!r}: the length after ':' must be a step count, got {length!r}"
                raise ConfigError("curriculum", msg) from None
            if steps < 1:
                raise ConfigError("curriculum", f"stage {spec!r}: the length must be >= 1, got {steps}")
            start += steps
        elif n < len(specs) - 1:
            raise ConfigError("curriculum", f"stage {spec!r} needs a length (key=value:steps): only the last runs to the end")
    if sep and isinstance(cfg.steps, int) and start != cfg.steps:
        # (also a --grid value split at the commas between its stages: "a:1e3" of "a:1e3,b")
        raise ConfigError(
            "curriculum",
            f"the last stage ({specs[-1]!r}) ends at step {start}, not at --steps {cfg.steps}: it runs to the end, "
            "drop its length (in a --grid, separate stages with |)",
        )
    return tuple(stages)


def boolean_labels(X: np.ndarray, support: tuple[int, ...], target: str, table: np.ndarray | None = None) -> np.ndarray:
    """The clean labels (+-1) of the rows of ``X`` (entries +-1) for ``target`` on ``support`` (0-based).

    The numpy form of the kernels' :func:`fastnoise._kernels.boolean.boolean_target`.
    """
    S = X[:, list(support)]
    if target == "parity":
        return np.prod(S, axis=1)
    if target == "junta":
        assert table is not None
        idx = ((S > 0) * (1 << np.arange(len(support)))).sum(axis=1)
        return np.asarray(table)[idx]
    terms = np.cumprod(S, axis=1) if target == "staircase" else S
    s = terms.sum(axis=1)
    return np.where(s > 0, 1.0, np.where(s < 0, -1.0, S[:, 0]))


def fourier_subsets(k: int) -> list[tuple[int, ...]]:
    """The subsets T of a k-bit support whose Fourier coefficient a run records, as positions in the support.

    Every non-empty subset when k <= 4 (``FOURIER_ALL_MAX``), by degree and then lexicographically:
    k = 3 gives (0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2); above, the full support only.
    """
    if k > FOURIER_ALL_MAX:
        return [tuple(range(k))]
    return [T for deg in range(1, k + 1) for T in itertools.combinations(range(k), deg)]


def progress_names(support: tuple[int, ...]) -> list[str]:
    """A hypercube run's progress columns for its ``support`` (0-based bits), in the kernels' order.

    ``target_corr``, ``mass_support``, ``mass_off``, then ``fourier_<bits>`` for each subset of
    :func:`fourier_subsets`, its bits 1-based in support order: support (0, 1, 2) gives
    ``fourier_1``, ..., ``fourier_2_3``, ``fourier_1_2_3``; support (4, 0) gives ``fourier_5``,
    ``fourier_1``, ``fourier_5_1``.
    """
    fourier = ["fourier_" + "_".join(str(support[p] + 1) for p in T) for T in fourier_subsets(len(support))]
    return ["target_corr", "mass_support", "mass_off", *fourier]


def rad_inputs(n: int, d: int, q: float, mix: float, mix_bias: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` inputs with Rad(q) bits (w.p. ``mix`` Rad(``mix_bias``)), as float64 +-1."""
    qs = np.full(n, q)
    if mix > 0.0:
        qs = np.where(rng.random(n) < mix, mix_bias, q)
    return np.where(rng.random((n, d)) < qs[:, None], 1.0, -1.0)


def _support_mask(cfg: RunFields) -> dict[str, int]:
    """The kernels' fast path (``sup_mask``, ``sup_first``): a parity's or a majority's support in the first 56 bits.

    Their labels depend only on how many support bits are +1 (and a majority's tie on the first),
    so one popcount of the first random word gives them; other targets and supports read the
    support in order (``sup_mask`` 0).
    """
    assert cfg.d is not None
    sup = parse_support(cfg.support, cfg.d)
    if cfg.target not in ("parity", "majority") or max(sup) >= 56:
        return {"sup_mask": 0, "sup_first": 0}
    return {"sup_mask": sum(1 << s for s in sup), "sup_first": sup[0]}


class Hypercube(Task):
    """``--data hypercube``: Rad(q) bits, ``--target`` on ``--support`` (see the module docstring)."""

    name = "hypercube"
    sampler_module = ".samplers"
    sampler_name = "HYPERCUBE_SAMPLER"
    metrics_module = ".progress"
    metrics_name = "HYPERCUBE_METRICS"
    owns = OWNED
    help = "x in {-1, +1}^d with P(x_i = +1) = q; a parity, staircase, majority or junta of --support"

    def check(self, cfg: RunFields, d: int) -> None:
        super().check(cfg, d)
        sup = parse_support(cfg.support, d)
        if cfg.target not in TARGETS:
            raise ConfigError("target", f"must be one of {', '.join(TARGETS)}; got {cfg.target!r}")
        if cfg.target == "staircase" and len(sup) > MAX_STAIRCASE:
            raise ConfigError("support", f"a staircase reads at most {MAX_STAIRCASE} bits, got {len(sup)}")
        if cfg.target == "junta":
            if len(sup) > MAX_JUNTA:
                raise ConfigError("support", f"a junta reads at most {MAX_JUNTA} bits (a truth table of 2**k), got {len(sup)}")
            parse_truth_table(cfg.truth_table, len(sup))
        elif cfg.truth_table is not None:
            raise ConfigError("truth_table", f"applies only with --target junta, got --target {cfg.target}")
        for name in ("bit_bias", "mix_bias"):
            q = getattr(cfg, name)
            if isinstance(q, bool) or not isinstance(q, int | float) or not 0.0 < q < 1.0:
                raise ConfigError(name, f"must be in (0, 1) (P(x_i = +1)), got {q!r}")
        m = cfg.mix
        if isinstance(m, bool) or not isinstance(m, int | float) or not 0.0 <= m <= 1.0:
            raise ConfigError("mix", f"must be in [0, 1], got {m!r}")
        if cfg.curriculum is not None:
            if cfg.n_train is not None:
                raise ConfigError("curriculum", "applies to fresh samples: a training set (--n-train) is drawn from one law")
            parse_curriculum(cfg.curriculum, cfg)

    def resolve(self, cfg: RunFields) -> dict[str, Any]:
        assert cfg.d is not None
        sup = parse_support(cfg.support, cfg.d)
        out: dict[str, Any] = {}
        if cfg.curriculum is not None:  # one spelling of a curriculum: stages separated by commas
            out["curriculum"] = ",".join(curriculum_stages(cfg.curriculum))
        if sup == tuple(range(len(sup))):
            return {**out, "support": str(len(sup))}
        return {**out, "support": ",".join(str(s + 1) for s in sup) + ("," if len(sup) == 1 else "")}

    def applies(self, name: str, params: Mapping[str, Any]) -> bool:
        if name == "truth_table":
            return params.get("target") == "junta"
        if name == "mix_bias":
            return bool(params.get("mix"))
        return name in OWNED or super().applies(name, params)

    def filename_parts(self, cfg: RunFields) -> list[str]:
        parts = [cfg.target, "S" + cfg.support.rstrip(",").replace(",", "-")]
        if cfg.truth_table is not None:
            parts.append("T" + cfg.truth_table)
        parts.append(f"q{cfg.bit_bias:g}")
        if cfg.mix > 0.0:
            parts.append(f"mix{cfg.mix:g}-{cfg.mix_bias:g}")
        if cfg.curriculum is not None:  # its text has ':' and ';': a short hash names it
            parts.append("cur" + hashlib.sha256(cfg.curriculum.encode()).hexdigest()[:8])
        return parts

    def kernel_params(self, cfg: RunFields) -> dict[str, Any]:
        law = self.stage_params(Stage(0, cfg.bit_bias, cfg.mix, cfg.mix_bias))  # the run's own law
        return {**law, "target": TARGETS.index(cfg.target), **_support_mask(cfg)}

    def kernel_arrays(self, cfg: RunFields) -> tuple[np.ndarray, np.ndarray]:
        assert cfg.d is not None
        sup = np.array(parse_support(cfg.support, cfg.d), dtype=np.int64)
        table = parse_truth_table(cfg.truth_table, len(sup)) if cfg.target == "junta" else np.zeros(0)
        return sup, table

    def extra_metrics(self, cfg: RunFields) -> list[str]:
        """The progress measures (:func:`progress_names`) of the run's support."""
        assert cfg.d is not None
        return progress_names(parse_support(cfg.support, cfg.d))

    def stage_params(self, stage: Stage) -> dict[str, Any]:
        """The kernel parameters of one stage's law (:meth:`kernel_params`' law fields)."""
        return {"bit_q53": q53(stage.bit_bias), "mix": float(stage.mix), "mix_q53": q53(stage.mix_bias)}

    def schedule(self, cfg: RunFields) -> tuple[tuple[int, dict[str, Any]], ...] | None:
        """The curriculum's stages as (start, law fields of the kernel parameters); None without ``--curriculum``."""
        if cfg.curriculum is None:
            return None
        return tuple((s.start, self.stage_params(s)) for s in parse_curriculum(cfg.curriculum, cfg))

    def inputs(self, n: int, d: int, rng: np.random.Generator, cfg: RunFields) -> np.ndarray:
        return rad_inputs(n, d, cfg.bit_bias, cfg.mix, cfg.mix_bias, rng)

    def target(self, X: np.ndarray, cfg: RunFields) -> np.ndarray:
        assert cfg.d is not None
        sup, table = self.kernel_arrays(cfg)
        return boolean_labels(X, tuple(int(s) for s in sup), cfg.target, table)


TASK = Hypercube()
