"""Hit rates with intervals: the share of hits (e.g. a :func:`~.decisions.decision_scores`
hit column) with an exact Clopper-Pearson interval for independent points or a bootstrap over
groups of points that move together (:func:`bootstrap_rate`, :func:`clopper_pearson`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ...runs.checks import check_integer, check_probability

MIN_GROUPS = 5  # fewer resampling groups give a degenerate bootstrap (1 group: 1 value)


def bootstrap_rate(hits, groups=None, n_boot: int = 2000, seed: int = 0, ci: float = 0.9):
    """The share of true ``hits`` with a ``ci`` interval: ``(rate, lower, upper)``.

    ``hits``: flags (n,), booleans or 0/1, e.g. a :func:`decision_scores` hit column, whose
    unscored rows are NA; ``groups``: labels (n,) of the points that move together (e.g.
    held-out budgets or data sets), or None. An NA (or NaN) hit is neither hit nor miss: it is
    left out, with its group entry, as ``Series.mean`` skips it, so the rate is over the scored
    hits and a group none of whose hits is scored does not count towards MIN_GROUPS. No scored
    hit: (NaN, NaN, NaN). ``ci`` in (0, 1); ``n_boot`` an integer >= 1.

    The interval:

    * **independent points** (``groups`` None, or every group one scored hit): the exact
      Clopper-Pearson interval of k hits in n (:func:`clopper_pearson`, ``scipy.stats.beta``),
      with no resampling (``n_boot`` and ``seed`` unused). At 0% or 100% it has one end at 0
      or 1 and the other honest (23 of 23 at 90%: lower 0.878), where a bootstrap gave a
      zero-width interval;
    * **groups of several points**: the percentile bootstrap resampling whole groups
      (``n_boot`` resamples, ``seed``). When every scored flag is a hit (or every one a miss)
      every resample gives the same rate, so instead the Clopper-Pearson interval with the
      groups as the trials (all of them hits, or all misses): conservative, since a group's
      chance of being all hits (all misses) is at most its expected hit (miss) rate.

    With fewer than MIN_GROUPS = 5 groups (or points) the bounds are NaN: resampling one group
    always returns the same rate (a zero-width "interval") and two give three values, so such a
    bootstrap says nothing about the uncertainty of the rate."""
    ci = check_probability("ci", ci)
    n_boot = check_integer("n_boot", n_boot, 1)
    hits = pd.Series(pd.array(np.asarray(hits, dtype=object).ravel(), dtype="Float64"))
    scored = hits.notna().to_numpy(bool)
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (len(hits),):
            raise ValueError(
                f"bootstrap_rate: groups has shape {groups.shape}, hits {len(hits)} values: "
                "one group label per hit"
            )
        groups = groups[scored]
    hits = hits[scored].to_numpy(float)
    flags = (hits == 0) | (hits == 1)
    if not flags.all():
        raise ValueError(
            "bootstrap_rate: hits must be flags (booleans or 0/1; NA for unscored), got "
            f"{hits[~flags][:3].tolist()} at scored positions "
            f"{np.flatnonzero(~flags)[:10].tolist()}"
        )
    if hits.size == 0:
        return float("nan"), float("nan"), float("nan")
    groups = np.arange(hits.size) if groups is None else groups
    labels, index = np.unique(groups, return_inverse=True)
    rate = float(hits.mean())
    if len(labels) < MIN_GROUPS:
        return rate, float("nan"), float("nan")
    counts = np.bincount(index, minlength=len(labels))
    if (counts == 1).all():  # independent points: exact
        return (rate, *clopper_pearson(int(hits.sum()), hits.size, ci))
    if rate in (0.0, 1.0):  # the bootstrap has no spread: the groups as trials
        return (rate, *clopper_pearson(int(rate) * len(labels), len(labels), ci))
    sums = np.bincount(index, weights=hits, minlength=len(labels))
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(labels), (n_boot, len(labels)))
    rates = sums[pick].sum(1) / counts[pick].sum(1)
    lo, hi = np.quantile(rates, [(1 - ci) / 2, (1 + ci) / 2])
    return rate, float(lo), float(hi)


def clopper_pearson(k: int, n: int, ci: float = 0.9) -> tuple[float, float]:
    """The exact (Clopper-Pearson) central ``ci`` interval of a binomial rate from ``k`` hits
    in ``n`` trials: beta quantiles, 0 as the lower end at k = 0 and 1 as the upper at k = n."""
    tail = (1 - ci) / 2
    lo = 0.0 if k == 0 else float(stats.beta.ppf(tail, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - tail, k + 1, n - k))
    return lo, hi
