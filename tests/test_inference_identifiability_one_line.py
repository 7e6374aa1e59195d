"""The identifiability check reports runs on one line (D/N constant) beside too few model sizes
(review 6)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import bayeslaws as bl
from bayeslaws.inference import identifiability


# ---- 6. runs on one line are reported beside too few levels -------------------------------------
def test_one_line_reported_with_few_levels():
    N = np.repeat([1e8, 4e8], 6)
    D = 20 * N
    loss = 1.7 + 400 / N**0.34 + 410 / D**0.28 + np.random.default_rng(0).normal(0, 0.01, N.size)
    law = bl.laws.LAWS["chinchilla"]
    prepared = law.prepare(bl.load_runs(pd.DataFrame({"N": N, "D": D, "loss": loss})))
    problems = identifiability.check(law, prepared, "gaussian", warn=False)
    assert any("only 2 distinct model sizes" in p for p in problems)
    assert any("D/N stays near 20 tokens per parameter" in p for p in problems)
