"""Choosing the next runs: expected information about the quantity you will act on, per FLOP.

A fitted posterior (NUTS draws) is the current belief. For each candidate run ``d`` the law
predicts an observation ``y_d = f(theta, d) + noise`` (log loss, the fit's noise family). The
value of running ``d`` is the expected information (nats) the outcome carries about a target::

    plan = bl.design.next_runs(fit, bl.design.isoflop_candidates(C=[1e19, 3e19]),
                               target=bl.design.Loss(N=7e9, D=1.4e11), cost="flops", k=3)

Targets (:class:`Loss`, :class:`NOpt`, :class:`HyperparamOpt`, :class:`AllParameters`, or a
list of them, treated jointly) give draws of the target on the log scale, shape (S, T).

Estimators
----------
``"gaussian"`` (default, fast): the draws of the target ``t`` and of the predictions ``f`` are
treated as jointly Gaussian (their sample covariance), the noise as Gaussian with the posterior
mean variance of the fit's family. Then for a target
``I(t; y_d) = -0.5 log(1 - rho^2(t, y_d))`` (scalar t); for a target of T components the
default (``criterion="marginal"``) sums the components' informations,
``sum_j 0.5 log(Var t_j / Var t_j|y)``, because each component is what the user is scored on
(``criterion="info"``: the joint ``0.5 log det Sigma_t / Sigma_t|y``, which with many
correlated components is dominated by the tiny variances of their contrasts). For all
parameters ``I(theta; y_d) = 0.5 log(1 + Var_post[f(theta, d)] / sigma^2)``.
Batches are chosen greedily, conditioning the joint Gaussian on the runs already picked. The
Gaussian information about all parameters is submodular, so for a fixed number of units k
without costs (``cost=None``) greedy is within 1 - 1/e of the best batch of k; the information
about a target is not always (two runs can be worth more together than apart, e.g. one pinning a
nuisance the other needs), so for targets greedy is a heuristic, and picks per cost carry no
such guarantee (see Budgets). Vectorised in JAX over draws and candidates, in float64.

Values under a drift model do not depend on the other candidates listed: with ``model="drift"``
or ``"model"`` (``"drift"`` is the default for a loss surface) the candidates' predicted
observations and the target are the model's own draws (:func:`.discrepancy.observation_means`),
whose GP discrepancy is drawn at each point as a fixed function of the point
(:func:`bayeslaws.posterior.model.point_normals`), so a candidate's value and the target's
draws are the same whichever other candidates are listed
(``tests/test_design_drift_values.py``). The candidates' GP draws come from a stream of their
own: no candidate shares the target's GP draw, not even one at the target's own point (the
model draws the GP independently per point, so a shared draw there made the value jump
~4.7x between the point and one 0.01% away); the design credits no GP correlation between
the target and any candidate.

Confirmation (:func:`~.bounds.bounds`, or ``next_runs(..., confirm=True)``): from one matrix of
log-likelihoods ``log p(y_n | theta_m)`` (outer draws n with simulated outcomes y_n from the fit's
own noise family, all S draws as inner samples), with the noise known as the Gaussian value
assumes it (each observation's posterior mean of the information-equivalent noise variance,
:func:`~.gaussian.info_equivalent_var_factor`), so NMC and PCE estimate the same
quantity as ``gaussian_all`` and, when the predictions are near Gaussian, bracket it up to their
Monte Carlo standard errors (``nmc_all_se``, ``pce_all_se``, ``reweighted_se``; nats):

* ``nmc``: nested Monte Carlo of ``I(theta; y_d)``, the inner sum excluding the outer draw: an
  **upper bound** in expectation (Rainforth et al. 2018). By data processing it also bounds the
  information the outcome carries about any target from above (the ``gaussian`` column: each
  component's, or the joint ``criterion="info"``; the default marginal criterion sums T
  components, each bounded, so up to T times NMC). It does **not** bound the design value
  ``info`` under a drift model: ``info`` adds the drift a run removes by widening the training
  range (see Discrepancy below), which is not information carried by the outcome; the bounds
  cover only the outcome's information.
* ``pce``: prior contrastive estimation (Foster et al. 2020), inner sum including the outer draw:
  a **lower bound** on ``I(theta; y_d)`` (not on a target's information).
* ``reweighted``: the outcome's information about the target with the exact (nonlinear)
  predictions and noise family, under the design's criterion (default: ``E_y[sum_j 0.5 log
  Var t_j / Var t_j|y]``), the posterior covariance of ``t`` given each simulated outcome by
  importance weights ``p(y_n | theta_m)`` over the draws (unbiased weighted covariance; outer
  draws whose weights' effective sample size is below ``bounds.MIN_ESS`` (10) are skipped
  and counted). As ``gaussian`` it uses the target without its drift beyond the training range
  and adds the drift's variance in closed form (no outcome carries it). Not a bound (a
  Gaussian-entropy approximation of the target), but it checks the linearisation: compare it
  with ``gaussian``.

Costs: ``cost="flops"`` uses the fit's compute model (6ND by default); a column name uses that
column (e.g. GPU-hours); ``cost=None`` ranks by information alone.

Discrepancy (:mod:`.discrepancy`): the targets are drawn under a model of the true loss surface
from :mod:`bayeslaws.posterior.model` (GP pattern and drift beyond the training range:
``model="drift"``, since the package default ``"gp"`` widens only new-run intervals; pass
``model="model"`` to add form averaging), so the design values
information about the prediction the user will be scored on, and a candidate beyond the training
range is also credited with the drift it removes from the target by moving the range towards it
(runs nearer the target region are worth more when the form is uncertain). That credit is
linear at one point of the target; for N_opt, which minimises along a whole isoFLOP line, it
overstates a run's value, and a DesignWarning says so.

Budgets: ``next_runs(..., budget=FLOPs)`` returns a greedy batch whose compute fits the budget
(``k=None``: as many units as it allows), not the best affordable batch. Greedy per cost alone
can waste a budget (cheap runs worth almost nothing spending a sliver of it, where the one run
that costs all of it is worth nats; ``tests/test_design_budget_batches.py``), so with costs the
greedy also runs by value alone and the batch of larger total value is returned (its ``greedy_rule``
column says which); for all parameters, ``cost="flops"``, ``cost_power=1`` and no guardrails
that is within (1 - 1/e) / 2 of the best affordable batch (Leskovec et al. 2007), otherwise a
heuristic. With ``k=None`` a warning says when the guardrails stop the fill with most of the
budget unspent, or when the fill reaches its most picks (``batch.MAX_FILL_PICKS``, or the
number of units if larger; ``k=`` asks for more: with ``max_repeats=None`` repeats go on until
the budget or ``k``). ``criterion="v_optimal"`` and ``cost_power`` give the classical baselines;
:func:`pool_units` turns a pool of runs into candidate units.

Guardrails of the greedy batch (each switchable, see :func:`next_runs`): ``max_repeats`` (a cap
on picks of one design point, counted over the campaign with :meth:`Guardrails.after`),
``max_per_cell`` (optional cap per (N, D) cell over the campaign), ``ratio_diversity`` (never a
batch whose runs all share one tokens-per-parameter ratio), ``min_size_spread`` (optional: the
batch's sizes span at least this factor).

Groups (fits of several data sets): the candidates are one group's runs (``group=``, or their
``group`` column), each target names its own group (``Loss(..., group=)``; None: a NEW group,
as in ``predict``), ``isoflop_candidates(..., group=)`` centres on that group's N_opt and
``hyperparameter_candidates(..., group=)``, ``pool_units(..., group=)`` on its eta_opt and B_opt. A
:class:`GroupWarning` says when they do not line up: a column label the fit does not know
(valued as a new group), a target for another group than the candidates', lines centred on a
new group's N_opt.

The campaign loop (:class:`Campaign`): propose a batch, train it, ``record`` it (the refit
:meth:`bayeslaws.inference.Fit.update`: warm-started where the law can re-express its posterior
on the new reference scales, the loss-surface laws and ``hyperparams``; otherwise a cold refit
with the fit's own warm-up, e.g. ``sweep``), propose again; the state is saved in a folder
between steps.

Candidates (:func:`isoflop_candidates`, :func:`hyperparameter_candidates`, or any DataFrame of
runs with columns N, D (or C) and, for a hyperparameter fit, lr and batch_size). Rows sharing a
``unit`` label are one candidate (chosen and costed together): a hyperparameter sweep at a new
(N, D) cell is such a unit, because a single run in an unseen cell says nothing while the
cell's loss level is unknown (the level is integrated out as a nuisance with its prior variance).

Units: N params, D tokens, C FLOPs; information in nats; target draws on the natural-log scale
(interval widths reported on the natural scale).

Modules: :mod:`.targets` (what the design is for), :mod:`.candidates` (candidate runs and units),
:mod:`.discrepancy` (the drift a run removes), :mod:`.gaussian` (the estimator), :mod:`.batch`
(greedy batches and budgets), :mod:`.guardrails` (the rules a batch obeys), :mod:`.costs`
(FLOPs and costs per unit), :mod:`.bounds` (NMC / PCE / reweighted confirmation),
:mod:`.campaign` (the loop and its saved state). Everything about the law comes
through its contract (:meth:`~bayeslaws.laws.contract.Law.observations`), so every law can be
designed for.
"""

from .batch import (
    next_runs,
    rank_candidates,
    runs_of_plan,
)
from .bounds import bounds
from .campaign import Campaign
from .candidates import GroupWarning, hyperparameter_candidates, isoflop_candidates, pool_units
from .gaussian import DesignWarning
from .guardrails import Guardrails, GuardrailWarning
from .targets import AllParameters, HyperparamOpt, Loss, NOpt, Target

__all__ = [
    "AllParameters",
    "Campaign",
    "DesignWarning",
    "GroupWarning",
    "GuardrailWarning",
    "Guardrails",
    "HyperparamOpt",
    "Loss",
    "NOpt",
    "Target",
    "bounds",
    "hyperparameter_candidates",
    "isoflop_candidates",
    "next_runs",
    "pool_units",
    "rank_candidates",
    "runs_of_plan",
]
