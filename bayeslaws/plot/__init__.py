"""Figures from fits (matplotlib). Every function returns the :class:`matplotlib.figure.Figure`.

* :mod:`.fan_chart` -- :func:`fan`: the runs with the law's posterior median and credible bands;
  beyond the fitted range (shaded) the bands widen into a fan. One panel per quantity the law
  predicts (the loss of a loss surface; eta_opt(N) and B_opt(N) of a hyperparameter law), one
  curve per slice of the law's other input (:func:`default_slices`); the runs it draws:
  :func:`fan_points` (:class:`FanPoints`).
* :mod:`.sweep_maps` -- :func:`bowls`: the LR x batch sweep as heat maps, one per (N, D) cell,
  with each cell's posterior optimum and its credible region (laws that fit a sweep).
* :mod:`.allocation` -- :func:`isoflop`: loss along isoFLOP lines with the optimum per budget
  and its interval; :func:`n_opt`: the compute-optimal size N_opt(C) with its bands, published
  laws overlaid.
* :mod:`.ranking` -- :func:`design_ranking`: expected information per FLOP for candidate runs (a
  DataFrame such as :func:`bayeslaws.design.next_runs` returns).
* :mod:`.pair_plots` -- :func:`pairs`: posterior pair plot through ArviZ (``az.plot_pair``).
* :mod:`.replay` -- :func:`design_replay`: replayed design campaigns: decision error (and R^2,
  coverage) against the compute spent, per strategy and pool (``bayeslaws.app.replay``).
* Shared by them: :mod:`.figures` (pyplot on first use, a new figure, the band levels and their
  shading, the fit and run tables a figure takes, :func:`save`), :mod:`.words` (axis labels,
  numbers as '20B', the SIMULATED and group words of titles) and :mod:`.ranges` (the fitted
  range a figure shades, and the words of what lies outside it).

Figures of a fit to SIMULATED data (:attr:`Fit.simulated_extent`) say "(SIMULATED data)" in
their titles; a fan drawing a table beside the fit that is simulated when the fit's data are not
(or to another extent) adds "(drawn runs SIMULATED)". Figures of a grouped fit draw one fitted
group (``group=``) or, by default, a new group (wider: its offsets are drawn from the groups'
spread), and say which in their titles. matplotlib's pyplot is imported on first use, not when
``bayeslaws`` is imported.
Units: N in parameters, D in tokens, C in FLOPs, batch size in tokens; power laws are drawn on log
axes.
"""

from __future__ import annotations

from .allocation import isoflop, n_opt
from .fan_chart import FanPoints, default_slices, fan, fan_points
from .figures import save
from .pair_plots import pairs
from .ranking import design_ranking
from .replay import design_replay
from .sweep_maps import bowls

__all__ = [
    "FanPoints",
    "bowls",
    "default_slices",
    "design_ranking",
    "design_replay",
    "fan",
    "fan_points",
    "isoflop",
    "n_opt",
    "pairs",
    "save",
]
