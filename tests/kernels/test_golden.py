"""Refactors keep results: every existing setting's table is bitwise equal to its golden copy.

The golden tables (``tests/data/golden``) were written by the engine before the kernel layer was
rebuilt (``python tests/golden.py``); see :mod:`golden` for the cases. Exact equality, no
tolerance: the kernels' arithmetic, draws and record order must not change.
"""

from __future__ import annotations

import pandas as pd
import pytest
from golden import CASES, HERE, config, tiny_images

from fastnoise import simulate


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return tiny_images(tmp_path_factory.mktemp("golden-idx"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_table_is_bitwise_the_golden_one(name, images):
    want = pd.read_parquet(HERE / f"{name}.parquet")
    got = simulate(config(name, images))
    got.attrs = {}
    got = got[want.columns.tolist()]
    pd.testing.assert_frame_equal(got, want, check_exact=True)
