"""Hyperparameter laws: the optimal learning rate and batch size of an LR x batch sweep.

* :mod:`.law` -- the hierarchical bowl model (law ``"hyperparams"``): its math and priors;
* :mod:`.data` -- a sweep turned into model arguments (cells, diverged runs censored or excluded);
* :mod:`.optima` -- the posterior of the optima, the loss penalty off the optimum, the law table;
* :mod:`.two_stage` -- the published best-cell + log-log regression baseline
  (law ``"hyperparams_two_stage"``).
"""

from .data import DivergenceWarning
from .law import LAW, HyperparamsLaw, log_survival
from .optima import units_factor
from .two_stage import TWO_STAGE, TwoStageHyperparams

__all__ = [
    "LAW",
    "TWO_STAGE",
    "DivergenceWarning",
    "HyperparamsLaw",
    "TwoStageHyperparams",
    "log_survival",
    "units_factor",
]
