"""The builder: :func:`build` specialises the replica driver (:mod:`.loops`) for a model, a spec and its parts.

A model (one module of :mod:`fastnoise._kernels`) contributes a :class:`Model`: plain Python
functions, the *templates*, with fixed signatures (``w`` is the model's tuple of one replica's
array views, input buffer first; ``P`` a :class:`.params.Params`; ``D`` a :class:`.params.Data`)::

    view(arrays, scratch, r, P) -> w          replica r's views into the shared arrays (a tuple)
    sample(P, D, st, x) -> (j, y, st)         draw a sample into x = w[0] (j: basis index or -1)
    update(j, y, P, h, *w) -> (out, moved)    one SGD step; out = N(x) before it (non-finite: stop),
                                              moved != 0.0 iff the rule updated (a float: see below)
    evaluate(j, P, *w) -> out                 optional, with learn: update's two halves, N(x) before
    learn(j, y, out, P, h, *w) -> moved       the step, then the rule from it (out finite); with
                                              them the step loop draws ahead (see "Sampling ahead")
    learn_evaluate(j, y, out, P, h, nxt, xn, *w) -> (moved, evaluated, out_next)
                                              optional, with both: learn and, if nxt and it can,
                                              evaluate the next input xn in the same pass
                                              over the weights (evaluated: out_next is its N)
    check(P, status, *w) -> ok                every CHECK_EVERY steps: renormalise / underflow
    lr(P, status) -> h                        the step size in stored units (renormalised runs)
    record(P, D, log2, out_row, *w) -> ok     write a checkpoint's metrics (ok: norms finite)
    output_at(P, w) -> N(x)                   optional: N(x) for the input in w[0], weights as
                                              stored (w a tuple; records only: a task's columns)
    first_layer(P, w) -> (flat, stride, units)  optional: the first layer's weights, unit i's on
                                              input j at flat[j * stride + i] (as stored)

``Model.views`` names the views (``("x", "V")``); the step loop receives them as named arguments.
``moved`` is a float (the step's scale h*y*s, or 1.0) rather than a bool: with a bool result
Numba's reference-count pruning keeps an incref/decref pair per view argument in every call
(measured on the neuron's update: 2 pairs per step with ``hy != 0.0``, none with ``hy``).

Everything else is written once, in :mod:`.loops`: the loop over replicas, the segment/record
schedule, the status protocol (non-finite output, underflow, the failing step) and the periodic check.

**A task's columns.** A run whose spec names a metrics part (``Spec.metrics``, a
:class:`.parts.MetricsKernel`: the hypercube's progress measures) records them after the model's:
its ``RECORD`` is :func:`.loops._record_task`, which calls the model's record and then the part's,
compiled into it with the model's ``output_at`` and ``first_layer``. So such a spec compiles one
function more than the model's own record (shared with every other spec); any other spec binds the
model's record as ``RECORD`` and compiles exactly what it did before.

**Specialisation.** :func:`build` copies every template of the model, of the run's parts (its
loss and its sampler, :mod:`.parts`) and of :mod:`.loops` into a new function object whose
globals are the template module's plus the run's :class:`.params.Spec` as constants (``ACT``,
``SPARSE``, ``NOISE`` ...; the parts' ``LOSS_CONDITIONAL``, ``ONEHOT``) and the model's and the
parts' functions under the driver's names (``VIEW``, ``SAMPLE``, ``UPDATE``, ``LOSS_SCALE``,
``DRAW`` ...). Numba freezes globals at compile time, so ``if ONEHOT:`` is decided when the loop
compiles, not at every step. Why copies with new globals rather than closures (as py-pde's
``make_*`` factories do): Numba's on-disk cache keys a closure on its pickled cell contents, and a
pickled dispatcher carries a fresh UUID in every process, so a closure over model functions is
recompiled in every process (measured: a cache miss on every run); a template copy is keyed on
its bytecode and its own qualified name, which names the constants and parts it reads
(``_drive__twolayer__act0__loss_hinge__onehot0__sampler_gaussian__sparse0``, ...), so each
(model, spec) compiles once and is cached on disk.

**Faults stay out of production kernels.** ``build(..., replace={"UPDATE": f})`` hands the same
driver a different step (the theorem checks' own tests use it to break the engine on purpose);
such a build is never cached.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from .._jit import jit, outside_stamp
from .draws import label_noise
from .loops import LANES, _drive, _drive_lanes, _fail, _record, _record_task, _steps_lanes, _steps_template, constant_lr
from .params import BINDINGS, Spec
from .parts import LossKernel, MetricsKernel, SamplerKernel
from .vec import COMPILED

__all__ = ["LANES", "MIN_LANES", "Kernels", "Lanes", "Model", "build", "constant_lr"]


class Lanes(NamedTuple):
    """A model's lane-batched step (see "Replicas in lanes" above): templates like the Model's.

    block(P) -> blk                            the lane block's arrays (a tuple), allocated once
    pack(blk, arrays, scratch, rs, member, P)  replica rows -> lane block (lanes with member[l])
    unpack(blk, arrays, scratch, rs, member, P)  lane block -> replica rows
    steps(P, D, h, S, blk, alive, upd, status, rs, state, t0, m)
                                               steps t0 ... t0+m-1 of every lane with alive[l]
                                               (no periodic check among them); a lane that fails
                                               calls _fail, stores its state, leaves alive
    eligible(spec, sampler) -> bool            (plain Python) whether this spec has a lane step
    helpers                                    templates the lane steps call, inlined into them
                                               (as the steps are into the driver: called, each
                                               would receive the parameters and arrays on the stack)
    steps_drawn                                optional: ``steps`` for a sampler with its own lane
                                               draw (``SamplerKernel.lane_draw``, read as
                                               ``LANE_DRAW``); ``steps`` is for the samplers whose
                                               law the lane step draws itself (``lanes``: Gaussian)
    """

    block: Callable
    pack: Callable
    unpack: Callable
    steps: Callable
    eligible: Callable[[Spec, SamplerKernel], bool]
    helpers: tuple[Callable, ...] = ()
    steps_drawn: Callable | None = None


class Model(NamedTuple):
    """One model's templates (plain functions) and the templates they call that read the spec."""

    name: str
    views: tuple[str, ...]
    view: Callable
    sample: Callable
    update: Callable
    check: Callable
    lr: Callable
    record: Callable
    helpers: tuple[Callable, ...] = ()
    lanes: Lanes | None = None
    evaluate: Callable | None = None
    learn: Callable | None = None
    inline: tuple[Callable, ...] = ()  # helpers compiled into their callers (see build())
    learn_evaluate: Callable | None = None  # with evaluate and learn: learn and the next evaluate in one pass
    output_at: Callable | None = None  # N(x) of the input in the view x: a task's records (Spec.metrics)
    first_layer: Callable | None = None  # the first layer's weights (flat, stride, units): likewise


class Kernels(NamedTuple):
    """A model compiled for one spec: the driver and the pieces the engine calls directly."""

    drive: Any
    view: Any
    update: Any
    spec: Spec
    drive_lanes: Any = None
    loss: LossKernel | None = None  # the parts it was built with (a test rebuilds the same kernels with a fault)
    sampler: SamplerKernel | None = None
    metrics: MetricsKernel | None = None


#: The fewest replicas a lane group advances together; the engine sends smaller groups through the
#: scalar driver (engine.LaneDrive).
MIN_LANES = 5

# By (model, spec, the parts themselves): two parts of one name (a test's and a module's) never share a build.
_BUILT: dict[tuple[str, Spec, LossKernel, SamplerKernel, MetricsKernel | None], Kernels] = {}
_SHARED: dict[tuple[str, str], tuple[types.FunctionType, Any]] = {}  # by (tag, template key)


def _copy(f: Callable, consts: Mapping[str, Any], tag: str) -> types.FunctionType:
    g = dict(f.__globals__)
    g.update(consts)
    nf = types.FunctionType(f.__code__, g, f.__name__, f.__defaults__, f.__closure__)
    nf.__qualname__ = f"{f.__qualname__}__{tag}"
    nf.__module__ = f.__module__
    nf.__doc__ = f.__doc__
    return nf


def _key(f: Callable) -> str:
    """A template's key: its module and qualified name (templates of different modules may share a name)."""
    return f"{f.__module__}.{f.__qualname__}"


def _bindings(spec: Spec, parts: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str], dict[str, Callable]]:
    """The spec's and the parts' bindings (:data:`.params.BINDINGS`): (constants, tag fragments, part templates).

    The tag fragment of a name is its value (``onehot1``) or, for a part's attribute, the part's
    name (``loss_hinge``; a part from outside the package: with a hash of its source files). A
    part's missing template (None: a loss without a C-class form) is left unbound, and so are the
    attributes of a missing part (None: no metrics part, ``spec.metrics == ""``).
    """
    for field, part in parts.items():
        name = "" if part is None else part.name
        if getattr(spec, field) != name:
            raise ValueError(f"spec.{field} is {getattr(spec, field)!r}, but the {field} kernel is {name!r}")
    parts = {field: part for field, part in parts.items() if part is not None}
    consts: dict[str, Any] = {}
    frags: dict[str, str] = {}
    roles: dict[str, Callable] = {}
    # A part defined outside the package is named with a hash of its source files (_jit.outside_stamp).
    names = {}
    for field, part in parts.items():
        templates = [f for f in part if callable(f)] + list(part.helpers)
        stamp = outside_stamp(templates)
        names[field] = f"{field}_{part.name}" + (f"_{stamp}" if stamp else "")
    for name, source in BINDINGS.items():
        field, _, attr = source.partition(".")
        if attr and field not in parts:
            continue
        if attr:
            value = getattr(parts[field], attr)
            frags[name] = names[field]
            if callable(value):
                roles[name] = value
            elif value is not None:
                consts[name] = value
        else:
            consts[name] = getattr(spec, field)
            frags[name] = f"{name.lower()}{int(consts[name])}"
    return consts, frags, roles


def _spec_reads(
    templates: Mapping[str, Callable], roles: Mapping[str, Callable], names: frozenset[str]
) -> dict[str, frozenset[str]]:
    """For each template, the constants and part roles (``names``) it reads, directly or through the templates it calls.

    A template calls the templates its global names refer to (functions imported from another
    template module included) and the roles it names (``UPDATE``, ``LOSS_SCALE``, ...).
    """
    by_id = {id(f): k for k, f in templates.items()}
    role_key = {role: _key(f) for role, f in roles.items()}
    calls = {}
    for k, f in templates.items():
        used = f.__code__.co_names
        callees = {role_key[u] for u in used if u in role_key}
        callees |= {by_id[id(f.__globals__[u])] for u in used if id(f.__globals__.get(u)) in by_id}
        calls[k] = callees
    reads = {k: set(f.__code__.co_names) & names for k, f in templates.items()}
    grew = True
    while grew:
        grew = False
        for k, callees in calls.items():
            for c in callees:
                if not reads[c] <= reads[k]:
                    reads[k] |= reads[c]
                    grew = True
    return {k: frozenset(r) for k, r in reads.items()}


def _reaching(templates: Mapping[str, Callable], roles: Mapping[str, Callable], targets: frozenset[str]) -> frozenset[str]:
    """The templates that call a role of ``targets`` (``UPDATE``), directly or through the templates they call."""
    by_id = {id(f): k for k, f in templates.items()}
    role_key = {role: _key(f) for role, f in roles.items()}
    calls = {
        k: {role_key[u] for u in f.__code__.co_names if u in role_key and u not in targets}
        | {by_id[id(f.__globals__[u])] for u in f.__code__.co_names if id(f.__globals__.get(u)) in by_id}
        for k, f in templates.items()
    }
    out = {k for k, f in templates.items() if targets & set(f.__code__.co_names)}
    grew = True
    while grew:
        grew = False
        for k, callees in calls.items():
            if k not in out and callees & out:
                out.add(k)
                grew = True
    return frozenset(out)


def build(
    model: Model,
    spec: Spec,
    loss: LossKernel,
    sampler: SamplerKernel,
    metrics: MetricsKernel | None = None,
    replace: Mapping[str, Any] | None = None,
) -> Kernels:
    """Compile (or fetch) ``model``'s driver for ``spec`` with the run's ``loss`` and ``sampler`` (named by the spec).

    Each template is compiled once per value of the spec constants it actually reads (a record
    that reads only ``ACT`` is shared by both losses), the driver once per (model, spec). The
    parts' templates are bound like the model's roles (``LOSS_SCALE``, ``LOSS_CLASSES``,
    ``DRAW``) and compiled into their callers (``inline="always"``: as the rules and the draws
    were when the models and ``sample_binary`` wrote them out); a template that reads one is
    named after its part (``__loss_hinge``, ``__sampler_gaussian``). ``metrics``: the task's
    columns (named by ``spec.metrics``; None when it is ``""``), recorded after the model's by
    :func:`.loops._record_task` (see "A task's columns" above).
    ``replace`` maps driver names (``"UPDATE"``, ``"SAMPLE"``, ...) to already-compiled functions
    used instead of the model's (tests only; such builds are not memoised, and what reaches a replaced role is
    compiled anew and not cached on disk: the rest is the production build's).
    """
    key = (model.name, spec, loss, sampler, metrics)
    if replace is None and key in _BUILT:
        return _BUILT[key]
    consts, frags, part_roles = _bindings(spec, {"loss": loss, "sampler": sampler, "metrics": metrics})
    roles = {
        "VIEW": model.view,
        "SAMPLE": model.sample,
        "UPDATE": model.update,
        "CHECK": model.check,
        "LR": model.lr,
        "RECORD": model.record,
        **part_roles,
    }
    # A task's columns: the model's record, then the part's, which reads the model through two more templates.
    task_inline: tuple[Callable, ...] = ()
    if metrics is not None:
        if model.output_at is None or model.first_layer is None:
            raise ValueError(f"model {model.name} cannot record the {metrics.name} columns: it has no output_at and first_layer")
        roles.update(RECORD=_record_task, MODEL_RECORD=model.record, OUTPUT_AT=model.output_at, FIRST_LAYER=model.first_layer)
        task_inline = (model.output_at, model.first_layer)
    # Drawing ahead needs the model's two halves; a replaced step (a test's fault) is the update itself.
    ahead = model.evaluate is not None and model.learn is not None and not (spec.batch or spec.decay) and not replace
    fused = ahead and model.learn_evaluate is not None
    if ahead:
        assert model.evaluate is not None and model.learn is not None
        roles.update(EVALUATE=model.evaluate, LEARN=model.learn)
    if fused:
        assert model.learn_evaluate is not None
        roles["LEARN_EVALUATE"] = model.learn_evaluate
    roles["STEPS"] = _steps_template(model.views, spec.batch or spec.decay, ahead, fused)
    # A replaced step (a test's fault) is not the model's lane step, and interpreted kernels
    # (NUMBA_DISABLE_JIT) have no vector intrinsics: such builds have the scalar driver only.
    lanes = model.lanes is not None and model.lanes.eligible(spec, sampler) and not replace and COMPILED
    if lanes:
        assert model.lanes is not None and model.lr is constant_lr, "lanes need a constant step size"
        lane_steps = model.lanes.steps if sampler.lanes else model.lanes.steps_drawn
        assert lane_steps is not None, "an eligible sampler without a Gaussian lane step has its lane draw"
        roles.update(BLOCK=model.lanes.block, PACK=model.lanes.pack, UNPACK=model.lanes.unpack, STEPS_LANES=lane_steps)
    shared = (label_noise, _record, _fail, _drive)  # label_noise: every sampler's noise, read by the lane steps too
    drivers = (*shared, _steps_lanes, _drive_lanes) if lanes else shared
    lane_helpers = model.lanes.helpers if lanes and model.lanes is not None else ()
    halves: tuple[Callable, ...] = ()
    if model.evaluate is not None and model.learn is not None:
        halves = (model.evaluate, model.learn, *((model.learn_evaluate,) if model.learn_evaluate is not None else ()))
    templates: dict[str, Callable] = {}
    part_helpers = (*loss.helpers, *sampler.helpers, *(metrics.helpers if metrics is not None else ()))
    for f in (*roles.values(), *model.helpers, *halves, *lane_helpers, *drivers, *part_helpers):
        k = _key(f)
        if templates.setdefault(k, f) is not f:
            raise ValueError(f"two templates named {k}: give one of them another name")
    reads = _spec_reads(templates, roles, frozenset(BINDINGS))
    unbound = set().union(*reads.values()) - consts.keys() - roles.keys()
    if unbound:  # a part's template the model calls is None (a loss without a C-class form)
        raise ValueError(
            f"model {model.name} reads {', '.join(sorted(unbound))}, which {loss.name!r} and {sampler.name!r} leave unbound"
        )
    # A replaced step recompiles only what reaches it (the step loop and the driver): every other
    # template is the production build's, shared and cached (a faulty build of the two-layer net
    # compiles in a fraction of the time, and its records, checks and views are the real ones).
    dirty = _reaching(templates, roles, frozenset(replace)) if replace else frozenset()
    # The engine calls the drivers, VIEW and UPDATE from Python; every other template is reached
    # from compiled code only and is compiled without Numba's wrappers (_jit.jit(inner=True)).
    entry = {_key(f) for f in (_drive, _drive_lanes, model.view, model.update)}
    # Inlined into their callers (Numba IR), each a kernel less to compile: _record, a checkpoint's
    # wrapper (a first two-layer run about 0.85 of the time, alternated with the code before).
    inline = {_key(_record): {"inline": "always"}}
    # Compiled into their callers (Numba IR) rather than called: called, each receives the
    # parameters (about 40 words) and its arrays on the stack at every step (measured at width 100:
    # update's two halves called, 1.07 of the time of one update; the two-layer net's first-layer
    # update called, 1.013 of the time inlined).
    # And the lane steps with their helpers: called, they received their dozen arrays and the
    # parameters on the stack, about 150 words copied per lane step.
    # And the loss's rules and the sampler's draw: the models (and sample_binary) wrote them out
    # in place before losses and samplers were parts.
    lane_inline = (roles["STEPS_LANES"], *lane_helpers) if lanes else ()
    # And the model's sample: called, it received Params and Data (63 words for Data's nine arrays) on the
    # stack at every step. Measured (alternated pairs): the hypercube's two-layer step 0.89 of the Gaussian
    # step's time called, 0.82 inlined; the Gaussian steps, once Data and Params had grown by the
    # hypercube's fields, 1.04-1.05 of the commit before (two-layer K=100, with and without bias) called,
    # 0.99-1.01 inlined, at the same compile time.
    sample_inline = (model.sample,)
    # And a task's record with the model's templates it calls (into _record_task: one function per spec).
    for f in (*model.inline, *halves, *lane_inline, *sample_inline, *part_roles.values(), *task_inline):
        inline[_key(f)] = {"inline": "always"}
    copies = {}
    compiled = {}
    for k, f in templates.items():
        mine = {c: consts[c] for c in reads[k] if c in consts}
        tag = model.name + "".join(f"__{t}" for t in sorted({frags[c] for c in reads[k]}))
        if k in dirty:
            tag += "__replaced"
        shared_key = (tag, k)
        if k not in dirty and shared_key in _SHARED:
            _, compiled[k] = _SHARED[shared_key]
            continue
        copies[k] = _copy(f, mine, tag)
        compiled[k] = jit(copies[k], cache=k not in dirty, inner=k not in entry, **inline.get(k, {}))
        if k not in dirty:
            _SHARED[shared_key] = (copies[k], compiled[k])
    bound = {role: compiled[_key(f)] for role, f in roles.items()}
    if replace:
        bound.update(replace)
    by_id = {id(f): k for k, f in templates.items()}
    for f in copies.values():  # templates call each other's specialised copies
        g = f.__globals__
        for name, value in list(g.items()):
            if id(value) in by_id:
                g[name] = compiled[by_id[id(value)]]
        g.update(bound)
    kern = Kernels(
        drive=compiled[_key(_drive)],
        view=compiled[_key(model.view)],
        update=bound["UPDATE"],
        spec=spec,
        drive_lanes=compiled[_key(_drive_lanes)] if lanes else None,
        loss=loss,
        sampler=sampler,
        metrics=metrics,
    )
    if replace is None:
        _BUILT[key] = kern
    return kern
