"""Coverage of the isoFLOP law's intervals at held-out LARGER budgets, on every real isoFLOP table
the package loads. A measurement: nothing is tuned or chosen here.

For a budget it was not fitted on, the isoFLOP law (``bayeslaws/laws/isoflop.py``,
``IsoFLOP.budget_draws``) draws a new curve: the trend N_opt = k C^a (and L_opt) plus fresh
budget-to-budget scatter (vertex_sd, loss_sd); the GP discrepancy that widens the other laws'
new-run predictions is not applied to it. This script measures whether that scatter is enough on
held-out budgets beyond the fitted range; the README, from its output, says it is not and to
read a new budget's interval from this law as a lower bound on the uncertainty.

Data: REAL (../shared/data, loaded by ``bayeslaws.runs.bundled``):

* Llama-3's digitised isoFLOP curves (isoflop_compendium "llama_3"), condition raw_loss and
  exp_loss; every row as loaded (the compendium's outlier flags are kept, nothing dropped);
* Marin's runs on three corpora (isoflop_compendium "marin_202603": comma, dclm, nemotron),
  predicted by N and the nominal budget C, as the loader says for an isoFLOP law;
* Porian et al.'s tuned configuration (rw / tuned / short warm-up / const decay / standard
  count / val loss), prepared exactly as ``paper_repro/porian.py`` prepares it (its
  ``config_runs``, imported read-only): per budget only the points within 5% of the budget's
  lowest loss (at least the 3 lowest, its choice for the parabola law), a ``run`` column (one
  training run per size, const decay) for the law's detrended per-run offsets; fitted with
  porian.py's sampler options (gaussian likelihood, dense mass matrix, target_accept 0.9).
  ``--porian-walk`` adds the other four configurations of porian.py's walk.

Rule (fixed before any result was seen, the same for every table): the TWO LARGEST budgets of
the table are held out; the law is fitted on all the other budgets. For Llama-3 that is a fit on
C <= 1e21 predicting 3e21 and 1e22 (the reviewer's split).

Fits: law "isoflop" (the parabola) with its defaults, and with ``law_options={"loss_floor":
True}`` (L_opt = E + k C^a); both reported. Compendium tables use the law's default
likelihood (huber) and sampler settings; Porian's use porian.py's (above). Seeds fixed (fit
seed 0, allocation and predict seed 0, bootstrap seed 0).

Per held-out budget:

(a) the N_opt 90% interval (``bl.optimal_allocation``) against the held-out budget's own
    empirical vertex (``bayeslaws.posterior.calibration.empirical_vertices``: the vertex of a
    least-squares parabola of ln loss on ln N over that budget's points; a curve without a
    minimum gives NaN, reported as unscored). That vertex is itself noisy (its bootstrap 90%
    interval is printed beside it), so a miss is evidence, not proof, of a too-narrow interval;
(b) how many of the held-out budget's points fall in their 90% ``kind="new_run"`` loss
    interval (``bl.predict`` by N and C);
(c) decades beyond the fitted C range (log10 of C over the largest fitted budget) and the
    warnings ``optimal_allocation`` / ``predict`` issued there.

Pooled summary: counts per option (vertices inside / scored, points inside / total), not tuned.

Usage: python benchmarks/isoflop_new_budget.py [--chains 4] [--warmup 500] [--draws 500]
       [--porian-walk]
Writes benchmarks/output/isoflop_new_budget.txt (the command at its top) and prints it.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import bayeslaws as bl
from bayeslaws.posterior.calibration import empirical_vertices
from bayeslaws.runs import bundled

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header  # noqa: E402  (benchmarks/bench_provenance.py)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "output" / "isoflop_new_budget.txt"
HELD_OUT = 2  # the rule: hold out the two largest budgets of every table
CI = 0.9
SEED = 0
OPTIONS = {"default": {}, "loss_floor": {"loss_floor": True}}
PORIAN_TUNED = ("summary_df", "rw", "tuned", "short", "const", "standard", "val")
PORIAN_WINDOW = 0.05  # porian.py's default window
PORIAN_MIN_KEEP = 3  # porian.py's min_keep for the parabola law "isoflop"


def load_porian_module():
    """paper_repro/porian.py as a module (read-only use of its data preparation)."""
    spec = importlib.util.spec_from_file_location("porian", ROOT / "paper_repro" / "porian.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tables(porian_walk: bool) -> list[tuple[str, object, dict]]:
    """(label, RunTable, extra bl.fit arguments) of every table measured."""
    out = []
    for condition in ("raw_loss", "exp_loss"):
        runs = bundled.isoflop_compendium("llama_3", condition=condition)
        out.append((f"llama_3/{condition}", runs, {}))
    for dataset in ("comma", "dclm", "nemotron"):
        runs = bundled.isoflop_compendium("marin_202603", dataset=dataset)
        out.append((f"marin/{dataset}", runs, {}))
    porian = load_porian_module()
    keys = [PORIAN_TUNED] + [k for k in porian.WALK if k != PORIAN_TUNED] * porian_walk
    for key in keys:
        config = dict(zip(porian.KEYS, key, strict=True))
        runs = porian.config_runs(config, PORIAN_WINDOW, PORIAN_MIN_KEEP, True)
        label = "porian/" + "/".join(key[1:])
        out.append((label, runs, {"likelihood": "gaussian", "target_accept": 0.9}))
    return out


def split(runs, held_out: int = HELD_OUT):
    """(training RunTable, held-out points DataFrame, held-out budgets (FLOPs, sorted)): the
    ``held_out`` largest budgets of ``runs`` are held out."""
    budgets = np.sort(runs.df["C"].unique())
    cut = budgets[-held_out]
    late = runs.df["C"] >= cut * (1 - 1e-9)
    train = runs.exclude(late, f"held out: the {held_out} largest budgets (C >= {cut:.3g})")
    return train, runs.df[late], budgets[-held_out:]


def warning_names(caught) -> str:
    """Distinct warning class names of ``caught`` (a catch_warnings record), or '-'."""
    names = sorted({type(w.message).__name__ for w in caught})
    return ",".join(names) or "-"


def score_budget(fit, points: pd.DataFrame, C: float, c_max: float) -> dict:
    """One held-out budget C (FLOPs) with its points (N params, loss): (a) N_opt interval vs
    the empirical vertex, (b) new_run coverage, (c) decades beyond the largest fitted budget
    ``c_max``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        alloc = bl.optimal_allocation(fit, C=[C], ci=CI, seed=SEED).iloc[0]
        pred = bl.predict(
            fit, N=points["N"].to_numpy(), C=points["C"].to_numpy(), ci=CI, kind="new_run"
        )
    vert = empirical_vertices(points[["N", "C", "loss"]], seed=SEED, ci=CI).iloc[0]
    lo, hi, nv = alloc["N_opt_lower"], alloc["N_opt_upper"], vert["N_vertex"]
    if not np.isfinite(nv):
        verdict = "unscored"
    else:
        verdict = "inside" if lo <= nv <= hi else ("below" if nv < lo else "above")
    loss = points["loss"].to_numpy()
    inside = (pred["lower"].to_numpy() <= loss) & (loss <= pred["upper"].to_numpy())
    return {
        "C": C,
        "decades": np.log10(C / c_max),
        "N_opt": alloc["N_opt"],
        "N_lo90": lo,
        "N_hi90": hi,
        "N_vertex": nv,
        "vtx_boot90": f"[{vert['N_vertex_lower']:.3g}, {vert['N_vertex_upper']:.3g}]",
        "vertex": verdict,
        "pts_in90": int(inside.sum()),
        "pts": len(points),
        "med_rel_err": float(np.median(np.abs(pred["median"].to_numpy() / loss - 1))),
        "warnings": warning_names(caught),
    }


def measure(label, runs, extra, option, args) -> list[dict]:
    """Fit ``option`` on the table without its largest budgets and score each held-out one."""
    train, test, held = split(runs)
    t0 = time.perf_counter()
    fit = bl.fit(
        train,
        law="isoflop",
        seed=SEED,
        chains=args.chains,
        warmup=args.warmup,
        draws=args.draws,
        progress_bar=False,
        warn=False,
        law_options=OPTIONS[option],
        **extra,
    )
    seconds = time.perf_counter() - t0
    c_max = train.df["C"].max()
    rows = []
    for C in held:
        points = test[np.isclose(test["C"], C, rtol=1e-9)]
        row = {"table": label, "option": option, **score_budget(fit, points, C, c_max)}
        row.update(
            {
                "fit_budgets": train.df["C"].nunique(),
                "r_hat": fit.diagnostics.max_r_hat,
                "div": fit.diagnostics.divergences,
                "fit_s": round(seconds),
            }
        )
        rows.append(row)
    return rows


def pooled(rows: pd.DataFrame) -> pd.DataFrame:
    """Counts per option: vertices inside / scored (and unscored), points inside / total."""
    out = []
    for option, g in rows.groupby("option", sort=False):
        scored = g[g["vertex"] != "unscored"]
        out.append(
            {
                "option": option,
                "budgets": len(g),
                "vertex_inside": int((scored["vertex"] == "inside").sum()),
                "vertex_scored": len(scored),
                "vertex_unscored": len(g) - len(scored),
                "vertex_below": int((scored["vertex"] == "below").sum()),
                "vertex_above": int((scored["vertex"] == "above").sum()),
                "points_inside90": int(g["pts_in90"].sum()),
                "points": int(g["pts"].sum()),
                "share_inside90": g["pts_in90"].sum() / g["pts"].sum(),
                "extrapolation_warned": int(g["warnings"].str.contains("Extrapolation").sum()),
            }
        )
    return pd.DataFrame(out)


def render(rows: pd.DataFrame, args, seconds: float) -> str:
    fmt = {
        "C": "{:.3g}".format,
        "decades": "{:.2f}".format,
        "N_opt": "{:.3g}".format,
        "N_lo90": "{:.3g}".format,
        "N_hi90": "{:.3g}".format,
        "N_vertex": "{:.3g}".format,
        "med_rel_err": "{:.2%}".format,
        "r_hat": "{:.3f}".format,
    }
    shown = rows.copy()
    for col, f in fmt.items():
        shown[col] = shown[col].map(f)
    summary = pooled(rows)
    summary["share_inside90"] = summary["share_inside90"].map("{:.2f}".format)
    head = [
        "Coverage of the isoFLOP law's 90% intervals at held-out LARGER budgets.",
        "Data: REAL (Llama-3 digitised curves, Marin runs, Porian et al. points; ../shared/data).",
        f"Rule: the {HELD_OUT} largest budgets of every table held out; law 'isoflop' fitted on "
        "the rest, defaults and loss_floor=True.",
        f"Sampling: {args.chains} chains x {args.warmup} warm-up + {args.draws} draws, seed "
        f"{SEED}; total runtime {seconds / 60:.1f} min.",
        "vertex: the held-out budget's own least-squares vertex (empirical_vertices) vs the "
        "N_opt 90% interval (below/above: the vertex lies below/above it);",
        "pts_in90: held-out points inside their new_run 90% loss interval; decades: log10(C / "
        "largest fitted C); warnings: classes issued by optimal_allocation/predict there "
        "(NominalComputeWarning: Marin's budgets are nominal, expected).",
        "",
    ]
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        body = shown.to_string(index=False)
        tail = summary.to_string(index=False)
    return "\n".join(head) + body + "\n\nPooled (counts, nothing tuned):\n" + tail + "\n"


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--porian-walk", action="store_true", help="all 5 porian.py walk configs")
    parser.add_argument("--only", default="", help="tables whose label contains this (no file)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # loaders' notes; the scored calls record their own
        todo = [t for t in tables(args.porian_walk) if args.only in t[0]]
    for label, runs, extra in todo:
        for option in OPTIONS:
            new = measure(label, runs, extra, option, args)
            rows.extend(new)
            done = "; ".join(
                f"C={r['C']:.3g}: vertex {r['vertex']}, {r['pts_in90']}/{r['pts']}" for r in new
            )
            print(f"{label} {option} ({new[0]['fit_s']} s) {done}", flush=True)
    frame = pd.DataFrame(rows)
    text = header("benchmarks/isoflop_new_budget.py", argv) + "\n"
    text += render(frame, args, time.perf_counter() - t0)
    print(text)
    if not args.only:
        OUT.parent.mkdir(exist_ok=True)
        OUT.write_text(text)
    return frame


if __name__ == "__main__":
    main()
