"""``fastnoise reproduce`` (the slides' figures) and ``fastnoise plot`` (any run table)."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..config import ConfigError, RunConfig
from ..options import OPTION, parse
from ..reproduce import EXPERIMENTS, run_experiment
from .app import DEFAULT_RESULTS, check_out, fail, main, verbosity
from .options import SEED, progress_options
from .progress import QUIET_SECONDS, Heartbeat, duration

log = logging.getLogger("fastnoise.cli")

if TYPE_CHECKING:
    import pandas as pd

# pandas, the analysis, plotting and mean-field modules (and through them the engine) are imported by
# the functions that use them: `fastnoise reproduce --list` and `fastnoise plot --help` load none of them.


@main.command("reproduce")
@click.argument("name", required=False)
@click.option("--list", "list_", is_flag=True, help="Say what each experiment is, its parameters and its run time.")
@click.option("--quick", is_flag=True, help="Shrink each experiment to under a minute (for tests).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_RESULTS,
    show_default=True,
    help="Tables and figures go to OUT/NAME/.",
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Root seed.")
@progress_options
def reproduce_cmd(name: str | None, list_: bool, quick: bool, out: Path, seed: int, log_every: float, no_progress: bool) -> None:
    """Regenerate a figure of the slides: NAME is one of the experiments (see --list) or all.

    Each experiment is announced on stderr as it starts, with its expected run time; when stderr is
    not a terminal, a line every --log-every says a long experiment is still running.
    """
    if list_ or name is None:
        for e in EXPERIMENTS.values():
            click.echo(f"{e.name:<7} {e.figure:<10} {e.description}")
            click.echo(f"{'':<18} {e.parameters}; about {e.minutes_full:g} min on 2 cores (--quick: < 1 min)")
        if name is None and not list_:
            fail("give an experiment NAME (" + ", ".join([*EXPERIMENTS, "all"]) + ") or --list")
        return
    if name != "all" and name not in EXPERIMENTS:
        fail(f"NAME {name!r} is not an experiment; allowed: {', '.join([*EXPERIMENTS, 'all'])}")
    import pandas as pd

    from ..data import DatasetError
    from ..io import check_writable

    names = list(EXPERIMENTS) if name == "all" else [name]
    try:
        check_writable(out / names[0] / "probe.parquet", overwrite=True)
    except OSError as exc:
        fail(f"--out {exc}")
    beat = not no_progress and verbosity() >= 0
    for i, n in enumerate(names, 1):
        e = EXPERIMENTS[n]
        expected = "under a minute" if quick else f"about {e.minutes_full:g} min on 2 cores"
        log.info("reproduce %d/%d: %s (%s; %s)...", i, len(names), n, e.figure, expected)
        click.echo(f"== {n}: {e.description}{' (quick)' if quick else ''}")
        try:
            with Heartbeat(beat, f"reproduce {n}", log_every):
                summary = run_experiment(n, out, quick=quick, seed=seed)
        except DatasetError as exc:
            fail(str(exc), code=1)
        for key, value in summary.items():
            if key == "figures":
                click.echo("  figure: " + ", ".join(str(p) for p in value))
            elif isinstance(value, pd.DataFrame):
                click.echo("  " + value.to_string().replace("\n", "\n  "))
            elif isinstance(value, float):
                click.echo(f"  {key}: {value:.4g}")
            else:
                click.echo(f"  {key}: {value}")


def _where_value(column: pd.Series, key: str, text: str) -> Any:
    """The value ``text`` stands for in column ``key`` (``none``: a null); ValueError if it cannot be one."""
    import pandas as pd

    t = text.strip()
    if t.lower() in ("none", "null"):
        return None
    if key in OPTION:
        opt = OPTION[key]
        value = parse(key, t)
        if opt.kind == "choice" and value not in opt.choices:
            raise ValueError(f"{t!r} is not one of {', '.join(str(c) for c in opt.choices)}")
        if opt.kind == "widths":
            value = ",".join(w.strip() for w in re.split(r"[x,]", value))  # tables spell them 64,32,16
        return value
    if pd.api.types.is_bool_dtype(column):
        if t.lower() not in ("true", "false"):
            raise ValueError(f"{t!r} is not true or false")
        return t.lower() == "true"
    try:
        if pd.api.types.is_integer_dtype(column):
            return int(t)
        if pd.api.types.is_numeric_dtype(column):
            return float(t)
    except ValueError:
        raise ValueError(f"{t!r} is not a number") from None
    return t[1:-1] if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'" else t


def _values_text(column: pd.Series, most: int = 8) -> str:
    """The distinct values of ``column`` as ``--where`` takes them: ``0.001, 0.01, none``."""
    values = [v.item() if hasattr(v, "item") else v for v in column.dropna().drop_duplicates()]
    try:
        values.sort()
    except TypeError:
        pass
    texts = [repr(v) if isinstance(v, float) else str(v) for v in values] + (["none"] if column.isna().any() else [])
    return ", ".join(texts[:most]) + (", ..." if len(texts) > most else "")


def _where(df: pd.DataFrame, where: tuple[str, ...]) -> pd.DataFrame:
    """The rows of ``df`` that ``--where`` selects; a one-line error for a malformed, unknown or unmatched condition."""
    from ..analysis import parameter_columns, select

    conditions: dict[str, list[Any]] = {}
    for item in where:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            fail(f"--where {item!r} is not KEY=VALUE (e.g. --where p=0.5)")
        if key not in df.columns:
            params = ", ".join(parameter_columns(df)) or "none"
            fail(f"--where {item!r}: {key!r} is not a column of PATH (its parameter columns: {params})")
        try:
            conditions.setdefault(key, []).append(_where_value(df[key], key, text))
        except ValueError as exc:
            fail(f"--where {item!r}: {exc}")
    for key, values in conditions.items():
        if select(df, {key: values}).empty:
            asked = " or ".join("none" if v is None else str(v) for v in values)
            fail(f"--where {key}={asked}: no row of PATH has it; the values of {key} there: {_values_text(df[key])}")
    out = select(df, conditions)
    if out.empty:
        fail(f"--where {' '.join(where)}: no row of PATH meets them all")
    return out


def _flows_of(df: pd.DataFrame) -> pd.DataFrame:
    """The mean-field table of every configuration of ``df`` that the flow covers (others named on stderr)."""
    import pandas as pd

    from ..meanfield import estimate, unsupported
    from ..meanfield import theory as mean_field

    stored = df.attrs.get("configs") or {}
    tables = []
    for cid, rows in df.groupby("config_id", sort=True) if "config_id" in df.columns else []:
        try:
            cfg = RunConfig.from_dict(stored[cid]) if cid in stored else _config_of(rows.iloc[0])
        except (ConfigError, KeyError, TypeError, ValueError) as exc:
            click.echo(f"--theory: no flow for configuration {cid}: its configuration cannot be read ({exc})", err=True)
            continue
        why = unsupported(cfg)
        if why is not None:
            click.echo(f"--theory: no flow for configuration {cid}: {why[1]}", err=True)
            continue
        cost = estimate(cfg)  # the defaults of `fastnoise meanfield`, refused alike (fastnoise.meanfield.cost)
        if cost.refused:
            reach = (
                f"past tau ~ {cost.tau_slide:.2g} its discontinuous field is out of reach"
                if cost.sliding
                else f"estimated ~{duration(cost.seconds())}"
            )
            click.echo(
                f"--theory: no flow for configuration {cid}: to tau = {cost.tau:.4g}, {reach}; "
                "fastnoise meanfield --horizon computes part of it",
                err=True,
            )
            continue
        if cost.seconds() >= QUIET_SECONDS:
            log.info("--theory: mean-field flow of configuration %s, estimated ~%s...", cid, duration(cost.seconds()))
        tables.append(mean_field(cfg).table)
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=["step", "config_id"])


def _config_of(row: pd.Series) -> RunConfig:
    """A run's configuration from its table row (every RunConfig field is a column; nulls are None)."""
    import pandas as pd

    values = {}
    for name in RunConfig.__dataclass_fields__:
        if name.startswith("_") or name not in row.index:
            continue
        v = row[name]
        values[name] = None if v is None or (not isinstance(v, str) and pd.isna(v)) else (v.item() if hasattr(v, "item") else v)
    return RunConfig.from_dict(values)


@main.command("plot")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Figure path (.png; a .pdf is written beside it) [default: beside the table, or PATH.png for a folder].",
)
@click.option(
    "--where",
    multiple=True,
    metavar="KEY=VALUE",
    help="Draw only the rows whose column KEY equals VALUE (none: null), e.g. --where p=0.5. Repeatable: "
    "conditions on different keys must all hold; a key given again adds a value it may take.",
)
@click.option(
    "--theory",
    is_flag=True,
    help="Overlay each configuration's mean-field flow (as `fastnoise meanfield` computes it with its defaults), dotted; "
    "configurations the flow does not cover are named on stderr and drawn without.",
)
def plot_cmd(path: Path, out: Path | None, where: tuple[str, ...], theory: bool) -> None:
    """Draw norms, active neurons and errors against steps from a table written by `fastnoise run`.

    PATH is one table or a folder of them (a sweep): each configuration gets its own median band,
    labelled with the parameters that differ between them; the title names those they share.
    Labels and title name only the parameters that apply to a configuration's model and data (no
    width for a single neuron) and break into lines to fit the figure. A figure holds at most 12
    configurations: select rows with --where. Rows of a mean-field table
    (`fastnoise meanfield`, source = meanfield) in PATH are drawn as dotted flows over the bands of their
    configuration; --theory computes them.
    """
    check_out(out, ".png", "the figure is written as .png (and a .pdf beside it)")
    import pandas as pd

    from ..analysis import config_key, configs, load
    from ..io import ResultsFileError, check_writable, read_results
    from ..plotting import MAX_CONFIGS, plot_runs

    try:
        df = load(path) if path.is_dir() else read_results(path)
    except (ResultsFileError, FileNotFoundError) as exc:
        fail(f"PATH {exc}")
    if where:
        df = _where(df, where)
    flows = None
    if "source" in df.columns:  # mean-field rows go on top of the bands, not into them
        from ..meanfield import SOURCE  # (with the engine: only for tables that may hold flows)

        is_flow = (df["source"] == SOURCE).fillna(False).to_numpy(bool)
        flows, df = (df[is_flow], df[~is_flow]) if is_flow.any() else (None, df)
        if df.empty:
            fail(f"PATH {path} holds only mean-field rows (source = {SOURCE}); plot them with the runs they describe")
    n = len(configs(df))
    if n > MAX_CONFIGS:
        key = config_key(df)
        example = f"{key[0]}={_values_text(df[key[0]], 1).removesuffix(', ...')}"
        rows = "the rows --where selects hold" if where else "PATH holds"
        fail(
            f"{rows} {n} configurations (they differ in {', '.join(key)}); a figure shows at most {MAX_CONFIGS}: "
            f"select some with --where KEY=VALUE (repeatable), e.g. --where {example}"
        )
    target = out
    if target is None:  # beside the table, or beside the folder
        target = path.resolve().with_name(path.resolve().name + ".png") if path.is_dir() else path.with_suffix(".png")
    try:
        check_writable(target, overwrite=True)
    except OSError as exc:
        fail(f"--out {exc}")
    if theory:
        computed = _flows_of(df)
        flows = computed if flows is None else pd.concat([flows, computed], ignore_index=True)
    for p in plot_runs(df, target, theory=flows):
        click.echo(str(p))
    sys.exit(0)
