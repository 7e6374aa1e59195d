"""Replayed design campaigns (:func:`design_replay`, histories of ``bayeslaws.app.replay``):
decision error, R^2 or coverage against the compute spent, per strategy and pool, with each
fit's sampler health (hollow circles, and the panel's words on how many fits failed the
sampler checks)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .figures import figure, pyplot


def design_replay(history: pd.DataFrame, *, metrics=("error", "r2"), strategies=None):
    """Replayed design campaigns (``bayeslaws.app.replay``): one column of panels per pool, one
    row per metric (``"error"``: mean |ln(median / truth)| of the decision quantity; ``"r2"``:
    SL2's R^2 of the held-out runs; ``"coverage"``: share of truths inside the 90% intervals),
    against the compute spent as a fraction of the pool's (log axis). Per strategy the median over
    seeds (line; of every fit, failed or not) and each seed (dots); a pool with simulated losses
    says so in its title.

    With a ``sampler_ok`` column (the history's sampler health of each fit: False when its
    R-hat, ESS, divergences or tree depth failed the checks; a bool, or its text as a CSV
    holds it), a fit that failed the checks is drawn as a hollow circle (legend entry), and
    each panel's title says "k of n fits failed the sampler checks" (n: the panel's fits with a
    recorded ``sampler_ok``; fits without one are counted apart)."""
    from matplotlib.lines import Line2D

    need = {"pool", "strategy", "seed", "spent", "budget"} | set(metrics)
    if not isinstance(history, pd.DataFrame) or history.empty or not need <= set(history):
        raise ValueError(f"design_replay() needs a replay history with columns {sorted(need)}")
    pools = list(dict.fromkeys(history["pool"]))
    strategies = list(dict.fromkeys(history["strategy"])) if strategies is None else strategies
    words = {
        "error": "decision error, mean |ln(median / truth)|",
        "r2": "R^2 of held-out losses (SL2)",
        "coverage": "share of truths in 90% intervals",
    }
    checked = "sampler_ok" in history
    # per row True: passed, False: failed, NaN: not recorded (by position: labels may repeat)
    history = history.assign(_sampler_health=_sampler_health(history).to_numpy())
    fig, axes = figure((4.0 * len(pools), 3.2 * len(metrics)), len(metrics), len(pools))
    colours = {s: f"C{i}" for i, s in enumerate(strategies)}
    any_failed = False
    for j, pool in enumerate(pools):
        h = history[(history["pool"] == pool) & (history["budget"] > 0)]
        simulated = bool(h["simulated"].any()) if "simulated" in h else False
        name = f"{pool}{' (SIMULATED)' if simulated else ''}"
        for i, metric in enumerate(metrics):
            ax = axes[i, j]
            for strategy in strategies:
                hs = h[h["strategy"] == strategy]
                if hs.empty:
                    continue
                med = hs.groupby("budget")[["spent", metric]].median().sort_index()
                ax.plot(med["spent"], med[metric], "-o", color=colours[strategy], label=strategy)
                failed = hs["_sampler_health"].eq(False).to_numpy()
                ok = hs[~failed]
                ax.plot(ok["spent"], ok[metric], ".", color=colours[strategy], alpha=0.35)
                if failed.any():
                    bad = hs[failed]
                    ax.plot(bad["spent"], bad[metric], "o", ls="", mfc="none",
                            mec=colours[strategy], ms=5, mew=0.9, alpha=0.8)  # fmt: skip
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(pyplot().NullFormatter())  # labels at decades only
            if metric == "error":
                ax.set_yscale("log")
            if metric == "coverage":
                ax.axhline(0.9, color="0.5", lw=0.8, ls="--")
            ax.set_xlabel("compute spent (fraction of the pool's)")
            ax.set_ylabel(words.get(metric, metric), fontsize=8)
            ax.grid(True, which="both", alpha=0.2)
            if checked:
                shown = h[h["strategy"].isin(strategies) & np.isfinite(h[metric].astype(float))]
                state = shown["_sampler_health"]
                any_failed |= bool(state.eq(False).any())
                ax.set_title(f"{name}\n{_sampler_words(state)}", fontsize=9)
        if not checked:
            axes[0, j].set_title(name, fontsize=10)
    handles = [Line2D([], [], color=colours[s], marker="o", label=s) for s in strategies]
    if any_failed:
        handles.append(
            Line2D([], [], marker="o", ls="", mfc="none", mec="0.3", ms=5,
                   label="a seed's fit that failed the sampler checks")
        )  # fmt: skip
    axes[0, -1].legend(handles=handles, fontsize=8, title="median over seeds", title_fontsize=7)
    fig.tight_layout()
    return fig


def _sampler_health(history: pd.DataFrame) -> pd.Series:
    """Per row of a replay ``history``, whether its fit passed the sampler checks: True, False,
    or NaN where not recorded (no ``sampler_ok`` column, a row written before it, or a fit
    that failed to run); ``sampler_ok`` as bools or as the text "True" / "False" (a CSV)."""
    if "sampler_ok" not in history:
        return pd.Series(np.nan, history.index, dtype=object)
    return history["sampler_ok"].map({True: True, False: False, "True": True, "False": False})


def _sampler_words(state: pd.Series) -> str:
    """A replay panel's words on its fits' sampler health (``state``: per drawn fit True, False
    or NaN, :func:`_sampler_health`): "k of n fits failed the sampler checks", n counting the
    fits with a recorded health, and "m without a sampler record" for the others ("no sampler
    record of its m fits" when none has one)."""
    failed = int(state.eq(False).sum())
    known = int(state.notna().sum())
    unknown = len(state) - known
    if not known:
        return f"no sampler record of its {unknown} fits"
    text = f"{failed} of {known} fits failed the sampler checks"
    return text + (f"; {unknown} without a sampler record" if unknown else "")
