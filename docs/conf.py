"""Sphinx configuration of the fastnoise documentation site (the pages are docs/*.md, the tutorials docs/tutorials/*.md).

Build, strict (a broken link, cross-reference or docstring fails), executing the tutorials::

    pip install -e ".[docs]"
    sphinx-build -W --keep-going -n -b html docs docs/_build/html
    python -m http.server -d docs/_build/html

Nothing here reaches the network: no intersphinx inventories, no external link checks.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The package documented is this checkout's, installed or not.
sys.path.insert(0, str(ROOT))
# The tutorials run in a kernel: it imports this checkout's package too.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)

import fastnoise  # noqa: E402

project = "fastnoise"
author = "the fastnoise authors"
copyright = "the fastnoise authors"
release = fastnoise.__version__
version = release

extensions = [
    "myst_nb",  # Markdown pages (it includes myst_parser) and Markdown notebooks, executed
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx.ext.mathjax",
]

root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints", "jupyter_execute"]
source_suffix = {".md": "myst-nb", ".rst": "restructuredtext"}

# --- strict mode ---------------------------------------------------------------------------------
# sphinx-build -W --keep-going -n (nitpicky): every unresolved reference is an error. The ignores
# below are each narrow and say why.
nitpicky = True
nitpick_ignore = [
    # Names that fastnoise.sweep's docstrings and signatures write unqualified, in the context of
    # fastnoise.sweep where the reference documents them: RunConfig is fastnoise.RunConfig,
    # Stopped is fastnoise.checkpoint.Stopped, Path is pathlib.Path (the standard library's, no
    # intersphinx); fragment_state is documented as fastnoise.sweep.fragment_state (autodoc records
    # the defining module's name for classes only).
    ("py:class", "RunConfig"),
    ("py:exc", "Stopped"),
    ("py:class", "Path"),
    ("py:func", "fastnoise.sweep.store.fragment_state"),
    ("py:data", "FRAGMENT_STATES"),
    ("py:data", "CELL_ID_SCHEMA"),
    # Forward references imported under TYPE_CHECKING, which autodoc leaves unqualified in
    # signatures: fastnoise._kernels.layout.Geometry and fastnoise._kernels.lanes.Lanes.
    ("py:class", "Geometry"),
    ("py:class", "Lanes"),
]
nitpick_ignore_regex = [
    # Third-party types in signatures and docstrings: their inventories would need intersphinx,
    # which fetches over the network (CI reaches only the package registries). Types only.
    ("py:class", r"(numpy|np|numpy\.typing|npt|pandas|pd|pyarrow|pa|numba|scipy|matplotlib|dask|distributed)\..*"),
    # The standard library's types likewise (no intersphinx for docs.python.org).
    ("py:class", r"(os|pathlib|collections\.abc|typing|concurrent\.futures|subprocess|threading|types)\..*"),
]

# --- MyST ----------------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
# GitHub-style anchors (model.md#17-label-noise-p-paper), so that a link works on GitHub and here.
myst_heading_anchors = 4

# --- notebooks (the tutorials) -------------------------------------------------------------------
nb_execution_mode = "force"  # run every tutorial at every build
nb_execution_timeout = 300  # seconds per cell (a first run compiles kernels)
nb_execution_raise_on_error = True  # a failing cell fails the build
nb_execution_show_tb = True
nb_merge_streams = True

# --- API reference -------------------------------------------------------------------------------
autosummary_generate = False
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "signature"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False


def _dataclass_defaults(app, what, name, obj, options, signature, return_annotation):
    """Show a dataclass field's ``default_factory`` as ``...``, not ``<factory>``.

    autodoc renders such a default as ``<factory>``, which Sphinx's signature parser cannot read:
    it then splits the signature at commas and reports halves of types (``dict[str``) as missing
    references. The signature shown is otherwise unchanged.
    """
    if signature and "<factory>" in signature:
        signature = signature.replace("<factory>", "...")
    return signature, return_annotation


def setup(app):
    """Connect the signature fix above."""
    app.connect("autodoc-process-signature", _dataclass_defaults)


# --- HTML ----------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"fastnoise {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 8,
}
html_static_path: list[str] = []
