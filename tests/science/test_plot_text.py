"""`fastnoise plot` figures read well: every text inside the figure, labels naming only what applies.

For a tiny run of each model (the neuron at the default run's d = 30, whose one-panel figure has
the narrowest title; the two-layer net; a deep leaky mlp; the ten-class net on a tiny image set),
``fastnoise plot`` saves a figure whose every visible text (title, axis labels, tick labels,
legends) lies inside the figure, measured with matplotlib's own extents after drawing; the title
names only the parameters that apply to the model (no ``width`` for a neuron, no ``widths`` for the
two-layer net). Several configurations with long labels still fit, and their labels too name only
what applies.
"""

from __future__ import annotations

from unittest import mock

import golden
import matplotlib.figure
import matplotlib.text
import pandas as pd
import pytest
from click.testing import CliRunner

import fastnoise
from fastnoise.cli import main
from fastnoise.models import get_model
from fastnoise.plotting import applies, config_labels, runs_figure, wrap_items

TINY = ["--steps", "200", "--replicas", "2", "--records", "6", "--no-progress"]


@pytest.fixture(scope="module")
def tiny_images(tmp_path_factory):
    """A 28x28 ten-class image set: 60 training and 20 test images. (tests/golden.py's)"""
    return golden.tiny_images(tmp_path_factory.mktemp("idx"))


@pytest.fixture
def saved(monkeypatch):
    """Every figure `fastnoise plot` saves: its texts outside the figure, its title and legend texts (as saved)."""
    seen: list[dict] = []
    real = matplotlib.figure.Figure.savefig

    def spy(self, *args, **kwargs):
        if not any(s["figure"] is self for s in seen):
            seen.append(
                {
                    "figure": self,
                    "outside": outside(self),
                    "title": self.get_suptitle(),
                    "legend": [t.get_text() for ax in self.axes if ax.get_legend() for t in ax.get_legend().get_texts()],
                }
            )
        return real(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    return seen


def outside(fig) -> list[str]:
    """The texts drawn in ``fig`` (title, labels, the tick labels in view, legends) whose extent leaves the figure."""
    drawn: list[matplotlib.text.Text] = []
    draw = matplotlib.text.Text.draw

    def record(self, renderer):
        drawn.append(self)
        return draw(self, renderer)

    with mock.patch.object(matplotlib.text.Text, "draw", record):
        fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    bad = []
    for t in drawn:
        if not t.get_visible() or not t.get_text().strip():
            continue
        e = t.get_window_extent(renderer)
        if e.x0 < box.x0 - 0.5 or e.x1 > box.x1 + 0.5 or e.y0 < box.y0 - 0.5 or e.y1 > box.y1 + 0.5:
            where = f"x {e.x0:.0f}..{e.x1:.0f}, y {e.y0:.0f}..{e.y1:.0f}"
            bad.append(f"{t.get_text()!r} at {where} (figure {box.width:.0f} x {box.height:.0f})")
    assert any(t is fig._suptitle for t in drawn) or fig._suptitle is None  # the title is among the texts checked
    return bad


MODELS = {
    "neuron": ["--model", "neuron"],  # the default run's d = 30 and lr = 1/d^2: one panel, the longest title for it
    "twolayer": ["--model", "twolayer", "--d", "6", "--width", "8", "--p", "0.3"],
    "mlp": ["--model", "mlp", "--d", "6", "--widths", "6,5,4", "--activation", "leaky", "--p", "0.3"],
    "tenclass": ["--model", "twolayer", "--data", "mnist", "--classes", "10", "--width", "6", "--init", "fanin", "--p", "0.2"],
}
#: Parameters a model's title must not name.
NOT_APPLYING = {
    "neuron": ["width=", "widths=", "activation=", "leak=", "classes="],
    "twolayer": ["widths=", "activation=", "leak=", "classes="],
    "mlp": ["width=", "classes="],
    "tenclass": ["widths=", "activation=", "leak="],
}


@pytest.mark.parametrize("model", list(MODELS))
def test_plot_of_each_model_keeps_every_text_inside_the_figure(model, tmp_path, tiny_images, saved):
    table = tmp_path / "run.parquet"
    args = MODELS[model] + (["--data-path", tiny_images, "--eval-size", "12"] if model == "tenclass" else [])
    run = CliRunner().invoke(main, ["run", *args, *TINY, "--out", str(table)])
    assert run.exit_code == 0, run.output + run.stderr
    plot = CliRunner().invoke(main, ["plot", str(table)])
    assert plot.exit_code == 0, plot.output + plot.stderr
    assert len(saved) == 1
    fig = saved[0]
    assert fig["outside"] == [], f"{model}: text outside the figure:\n" + "\n".join(fig["outside"])
    title = fig["title"]
    for text in NOT_APPLYING[model]:
        assert not any(item.startswith(text) for item in title.replace("\n", " ").split(", ")), (model, title)
    assert "lr=" in title and "p=" in title
    if model == "mlp":
        assert "widths=6,5,4" in title and "leak=0.01" in title
        assert fig["legend"][:4] == ["first layer", "layer 2", "layer 3", "output layer"]  # not norm_2 as "output layer"
    if model == "tenclass":
        assert "classes=10" in title


def test_several_configurations_with_long_labels_stay_inside_the_figure():
    """Six neuron runs under pure noise (one panel: the narrowest figure) that differ in many parameters.

    Each label is wider than the figure: it breaks into lines, and every text stays inside.
    """
    import matplotlib.pyplot as plt

    base = dict(steps=40, replicas=1, records=4, d=4, p=1.0)
    variants = [
        dict(
            lr=0.01 * (i + 1),
            seed=i,
            init=("uniform", "gaussian")[i % 2],
            init_scale=1.0 + i,
            n_test=100 + i,
            eval_size=1000 + i,
            probe_size=200 + i,
        )
        for i in range(6)
    ]
    df = pd.concat([fastnoise.simulate(**base, **v) for v in variants], ignore_index=True)
    fig = runs_figure(df)
    try:
        fig.tight_layout()
        assert len(fig.axes) == 2  # one panel, and the legend's row
        assert outside(fig) == []
        legend = [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
        assert len(legend) == 6 and all("lr=" in label and "probe_size=" in label for label in legend)
    finally:
        plt.close(fig)


def test_labels_name_only_the_parameters_that_apply_to_each_model():
    """A neuron and a two-layer net of two widths: the neuron's label names no width; no label is repeated."""
    small = dict(steps=20, replicas=1, records=3, d=4)
    df = pd.concat(
        [fastnoise.simulate(model=m, width=w, **small) for m in ("neuron", "twolayer") for w in (6, 8)], ignore_index=True
    )
    # (the table's width is null for both neurons: by these columns they are one group)
    assert config_labels(df, ["model", "width", "widths", "activation"]) == [
        "model=neuron",
        "model=twolayer, width=6",
        "model=twolayer, width=8",
    ]
    key = fastnoise.analysis.config_key(df)
    labels = config_labels(df, key)
    assert len(set(labels)) == 4 and not any("widths=" in label or "activation=" in label for label in labels)
    assert all("width=" not in label for label in labels if "model=neuron" in label)


def test_the_models_answer_what_applies():
    neuron, twolayer, mlp = (get_model(m) for m in ("neuron", "twolayer", "mlp"))
    assert not neuron.applies("width", {}) and not neuron.applies("train", {}) and neuron.applies("lr", {})
    assert twolayer.applies("width", {}) and not twolayer.applies("widths", {}) and not twolayer.applies("leak", {})
    assert not mlp.applies("width", {}) and mlp.applies("widths", {}) and mlp.applies("activation", {})
    assert mlp.applies("leak", {"activation": "leaky"}) and not mlp.applies("leak", {"activation": "relu"})
    assert applies("classes", {"model": "twolayer", "data": "mnist"}) and not applies(
        "classes", {"model": "twolayer", "data": "gaussian"}
    )
    assert applies("cube_dims", {"model": "neuron", "data": "cube"}) and not applies(
        "cube_dims", {"model": "neuron", "data": "basis"}
    )
    assert applies("width", {"model": "not-registered"}) and applies("config_id", {"model": "neuron"})


def test_wrap_items_breaks_between_items_and_shortens_an_item_wider_than_a_line():
    items = ["model=neuron", "loss=hinge", "bias=False", "data=gaussian", "d=30"]
    assert wrap_items(items, 100, 12) == ", ".join(items)
    lines = wrap_items(items, 2.0, 12).split("\n")
    assert len(lines) > 1 and all(line.endswith(",") for line in lines[:-1])
    assert " ".join(lines).split(", ") == items
    assert wrap_items(["data_path=" + "x" * 200], 2.0, 12).endswith("...")
