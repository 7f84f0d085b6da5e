"""The open vocabulary: a model, a task and a loss are each one module; the infrastructure asks them.

Three kinds of checks:

- a toy task (``toy_sphere.py``: x uniform on the sphere) and a toy loss (``toy_sqhinge.py``: the
  squared hinge), each one file outside the package, registered through the documented extension
  point and run through ``fastnoise.run``, a sweep and ``fastnoise.analysis``;
- the registries' rules (names, duplicates, messages);
- the layout the vocabulary depends on: no model-name comparison in the infrastructure, no module
  over 500 lines, no import cycle (function-local and type-only imports count).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest
import toy_sphere  # noqa: F401  (registers the task "sphere")
import toy_sqhinge  # noqa: F401  (registers the loss "sqhinge")

import fastnoise
from fastnoise import ConfigError, RunConfig, probes
from fastnoise.losses import get_loss, loss_names
from fastnoise.models import get_model, model_names, registered_models
from fastnoise.tasks import get_task, task_names

PACKAGE = Path(fastnoise.__file__).resolve().parent


# --------------------------------------------------------------------------- the toy task and loss


def test_the_toy_task_and_loss_are_in_the_vocabulary():
    assert "sphere" in task_names() and "sqhinge" in loss_names()
    cfg = RunConfig(data="sphere", loss="sqhinge", d=6, steps=100)
    assert cfg.default_filename().startswith("neuron_sqhinge_nobias_sphere_d6")


def test_the_toy_task_draws_unit_inputs_labelled_by_the_sign_of_x1():
    """The kernels' sampler and the numpy drawer: unit norm to rounding, clean label sign(x_1), the same law.

    Kernel draws come from the replica's stream (``probes.sample_stream``), numpy's from the data
    stream; each coordinate's mean is 0 and its variance 1/d: with n = 4000 draws the sample mean's
    standard error is sqrt(1/(d n)) = 0.0065 at d = 6; 5 SE bounds it.
    """
    n, d = 4000, 6
    cfg = RunConfig(data="sphere", d=d, p=0.0, n_test=n, steps=10)
    xs, clean, ys = probes.sample_stream(cfg, 0, n)
    assert np.allclose(np.linalg.norm(xs, axis=1), 1.0, rtol=0, atol=1e-14)
    assert np.array_equal(clean, np.where(xs[:, 0] > 0.0, 1.0, -1.0)) and np.array_equal(ys, clean)
    X = get_task("sphere").inputs(n, d, np.random.default_rng(1), cfg)
    se = np.sqrt(1.0 / (d * n))
    for sample in (xs, X):
        assert np.all(np.abs(sample.mean(axis=0)) < 5 * se)
        assert np.all(np.abs((sample**2).mean(axis=0) - 1.0 / d) < 5 * np.sqrt(2.0 / (d * d * n)) + 5 * se**2)


def test_the_toy_loss_step_is_the_squared_hinge_gradient():
    """One compiled step of each net against the rule written out: V += h y max(0, 1 - y N) x (a neuron)."""
    rng = np.random.default_rng(3)
    cfg = RunConfig(loss="sqhinge", d=5, lr=0.1)
    V = rng.standard_normal(5)
    for y in (1.0, -1.0):
        x = rng.standard_normal(5) * 0.3
        out = 0.0
        for v, xi in zip(V, x, strict=True):  # the kernel's order of additions: the same bits
            out += v * xi
        w, got = probes.apply_step(cfg, {"V": V.copy()}, x, y)
        assert got == out
        hy = 0.1 * y * max(0.0, 1.0 - y * out)
        assert np.array_equal(w["V"], V + hy * x)


def test_a_run_of_the_toy_task_and_loss_matches_the_rule_step_by_step():
    """fastnoise.run on the sphere with the squared hinge: its final weights are the numpy loop's on the same draws."""
    n = 300
    cfg = RunConfig(data="sphere", loss="sqhinge", d=4, p=0.2, lr=0.05, steps=n, records=3, replicas=2, seed=7)
    res = fastnoise.run(cfg, threads=1)
    for r in range(cfg.replicas):
        xs, _, ys = probes.sample_stream(cfg, r, n)
        V = np.array(fastnoise.weights.initial_weights(cfg, r)["V"], dtype=float)
        for x, y in zip(xs, ys, strict=True):
            V = V + 0.05 * y * max(0.0, 1.0 - y * float(V @ x)) * x
        np.testing.assert_allclose(res.weights[r]["V"], V, rtol=1e-12, atol=1e-14)
    assert set(res.table.data) == {"sphere"} and set(res.table.loss) == {"sqhinge"}


@pytest.mark.parametrize("model", ["twolayer", "mlp"])
def test_the_nets_run_the_toy_task_and_loss(model):
    df = fastnoise.simulate(model=model, data="sphere", loss="sqhinge", width=8, d=5, p=0.1, steps=2000, replicas=2, records=5)
    assert np.isfinite(df.norm_1).all() and (df.updates.dropna() >= 0).all()
    assert df.error_test.notna().all()


def test_a_sweep_and_the_analysis_take_the_toy_task_and_loss(tmp_path):
    from fastnoise import analysis, sweep

    spec = sweep.SweepSpec(
        name="toy", base={"data": "sphere", "loss": "sqhinge", "d": 5, "steps": 500, "replicas": 2}, grid={"p": [0.1, 0.4]}
    )
    report = sweep.run_sweep(spec, tmp_path / "toy")
    assert len(report.done) == 2 and not report.failed
    df = analysis.load(tmp_path / "toy")
    agg = analysis.aggregate(df, "norm_1")
    assert set(df.data) == {"sphere"} and set(df.loss) == {"sqhinge"} and len(agg) > 0
    assert "p" in analysis.varying_parameters(df)


def test_the_toy_loss_has_no_ten_class_form():
    with pytest.raises(ConfigError, match="^loss sqhinge has no 10-class form"):
        RunConfig(model="twolayer", loss="sqhinge", data="mnist", classes=10, data_path="/nonexistent")


# --------------------------------------------------------------------------- the registries


def test_registries_refuse_a_second_entry_of_one_name():
    from fastnoise import Loss, register_loss, register_task

    with pytest.raises(ValueError, match="registered already"):
        register_task(toy_sphere.Sphere())
    with pytest.raises(ValueError, match="registered already"):
        register_loss(Loss(name="hinge"))
    with pytest.raises(ValueError, match="identifier"):
        register_loss(Loss(name="not a name"))


def test_unknown_names_list_what_is_allowed():
    with pytest.raises(ConfigError, match=r"^model must be one of neuron, twolayer, mlp"):
        RunConfig(model="tenclass")
    with pytest.raises(ConfigError, match=r"^loss must be one of hinge, logistic"):
        RunConfig(loss="nope")
    with pytest.raises(ConfigError, match=r"^data must be one of gaussian, basis, cube, hypercube, mnist, fashion-mnist"):
        RunConfig(data="nope")


def test_every_model_answers_for_its_weights_and_columns():
    """Each model packs and unpacks its own initial weights exactly, and its metric count is the table's."""
    from fastnoise import plan, schema

    for params in (dict(model="neuron"), dict(model="twolayer", width=6), dict(model="mlp", widths=(5, 3), bias=True)):
        cfg = RunConfig(d=4, replicas=2, **params)
        geo = plan.geometry(cfg)
        w = [fastnoise.weights.initial_weights(cfg, r) for r in range(2)]
        arrays, _ = geo.pack(w)
        back = geo.unpack(arrays, np.zeros(2, np.int64))
        for a, b in zip(w, back, strict=True):
            assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
        assert geo.n_metrics == len(schema.metric_names(cfg))
    assert set(model_names()) == {"neuron", "twolayer", "mlp"}
    assert get_model("twolayer").form(RunConfig(model="twolayer", data="mnist", classes=10, data_path="/x")).name == "multiclass"
    assert {m.name for m in registered_models()} >= {"neuron", "twolayer", "multiclass", "mlp"}
    assert get_loss("hinge").homogeneous and not get_loss("logistic").homogeneous


# --------------------------------------------------------------------------- the layout


#: The infrastructure: it asks a model, task or loss and never compares one's name.
INFRASTRUCTURE = (
    "config.py",
    "engine.py",
    "plan.py",
    "schedule.py",
    "sets.py",
    "state.py",
    "threads.py",
    "weights.py",
    "probes.py",
    "schema.py",
    "footprint.py",
    "io.py",
    "checkpoint.py",
    "_kernels/layout.py",
    "_kernels/driver.py",
    "cli/*.py",
    "sweep/*.py",
)
_NAMES = "neuron|twolayer|multiclass|tenclass|mlp|hinge|logistic|gaussian|basis|cube|mnist|fashion-mnist"
#: A model, loss or task (``data``) compared with a name or a tuple of names, either way round.
_COMPARISON = re.compile(
    rf"""\b(model|loss|data)\b\)?\s*(==|!=|\bnot in\b|\bin\b)\s*[(\[]?\s*["']|["']({_NAMES})["']\s*(==|!=)"""
)


def test_the_infrastructure_compares_no_model_task_or_loss_name():
    found = []
    for pattern in INFRASTRUCTURE:
        for path in sorted(PACKAGE.glob(pattern)):
            for no, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("#", 1)[0]
                if _COMPARISON.search(code):
                    found.append(f"{path.relative_to(PACKAGE)}:{no}: {line.strip()}")
    assert not found, "\n".join(found)


#: Modules allowed over the bound, with the reason.
LONG = {"_kernels/vec.py": "the hand-written LLVM IR (vector intrinsics) of the register-blocked layers"}


def test_no_module_is_over_500_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 500 and str(p.relative_to(PACKAGE)) not in LONG
    }
    assert not long, long


def _imports(path: Path, module: str) -> set[str]:
    """The package modules ``module`` imports anywhere in its file (function-local and type-only imports too)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target.startswith("fastnoise"):
                # "from pkg import mod" imports the module pkg.mod (pkg itself is already loaded);
                # "from mod import name" imports mod.
                subs = {f"{target}.{a.name}" for a in node.names}
                known = {s for s in subs if s in MODULES}
                out |= known if known == subs else known | {target}
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("fastnoise"))
    return out


def _modules() -> dict[str, Path]:
    modules = {}
    for p in PACKAGE.rglob("*.py"):
        rel = p.relative_to(PACKAGE.parent).with_suffix("")
        modules[".".join(rel.parts[:-1] if p.name == "__init__.py" else rel.parts)] = p
    return modules


MODULES = _modules()


def test_no_import_cycle():
    modules = MODULES
    graph = {m: {t for t in _imports(p, m) if t in modules and t != m} for m, p in modules.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycle = stack[stack.index(t) :] + [t]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_the_mean_field_loads_no_numba():
    """The flow shares the initial weights and the schema with the engine, not its kernels (meanfield/__init__.py)."""
    import subprocess
    import sys

    code = "import sys, fastnoise.meanfield, fastnoise.weights, fastnoise.schema\nassert 'numba' not in sys.modules"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
