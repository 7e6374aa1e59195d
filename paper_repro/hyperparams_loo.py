"""Hyperparameter law: PSIS-LOO over its bowl shapes and bowl scales, and the noiseless
least-squares check of the shapes' bias; writes hyperparams_loo.md into the folder --out
(default paper_repro/results, where a run replaces the committed document).

Usage::

    python paper_repro/hyperparams_loo.py                          # 4 chains x 1000 + 1000 per fit
    # quicker: into a scratch folder, so the committed document stays
    python paper_repro/hyperparams_loo.py --chains 2 --warmup 400 --draws 400 \
        --out /tmp/paper_repro_quick

Needs ../shared/data/steplaw_lr_bs (or ``BAYESLAWS_SHARED_DATA``) for the Step Law sections;
without it they say so and the rest is written. Sections of the .md:

* PSIS-LOO of law "hyperparams" with each bowl shape (``BOWLS``: symmetric, cross, asymmetric,
  full) on Step Law dense (Li et al. 2025; the repro's options ``STEPLAW_OPTIONS`` of
  paper_repro/hyperparams.py: runs within 3% of each cell's best, the rest excluded) and on
  the bundled SIMULATED video-DiT sweep (the law's default options): ArviZ's ``compare`` of
  ``benchmarks/steplaw_fit.py:loo_constant_safe`` (exact for censored runs whose
  log-likelihood is the same in every draw), Pareto-k warnings and each fit's diagnostics;
  then each fit's exponents, lr_asym and rho.
* Noiseless least squares on the simulated design (the simulator's truth, no noise): per-cell
  free levels and centres, shared curvatures, then OLS of the centres on ln T, ln N.
* ``bowl_scale`` "log" vs "loss" (bowl "full") on both data sets, by PSIS-LOO.

Every fit runs in this one process: the compiled-kernel cache (bayeslaws.inference.nuts) is keyed
on the law options, so fits that differ only in ``bowl_scale`` get their own kernels (asserted by
tests/test_fit_predict.py; checked here too: their draws must differ).
The .md is written only by this script (after every section, so a partial run leaves what it
finished); it records the command, date, package commit and settings.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
import warnings
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
from scipy.optimize import least_squares

import bayeslaws as bl
from bayeslaws.inference.nuts import comparable_fits
from bayeslaws.laws.hyperparams import LAW
from bayeslaws.laws.hyperparams.law import BOWLS
from bayeslaws.runs.bundled import DEFAULT_DATASET, SharedDataMissing, load_bundled, steplaw_dense

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# the sibling script paper_repro/hyperparams.py (Step Law options, truth, table writer) and
# benchmarks/steplaw_fit.py (loo_constant_safe) and bench_provenance.py (git), also when this
# file is imported from elsewhere
sys.path[:0] = [str(HERE), str(ROOT / "benchmarks")]
import bench_provenance  # noqa: E402
from hyperparams import RESULTS, STEPLAW_OPTIONS, TRUTH, health_words, markdown  # noqa: E402
from steplaw_fit import loo_constant_safe  # noqa: E402

OUT_NAME = "hyperparams_loo.md"  # the document, in the folder --out (default RESULTS)
CI = 0.9  # central intervals of the exponents, lr_asym and rho
EXPONENTS = (("eta_opt", "exp_T"), ("eta_opt", "exp_N"), ("B_opt", "exp_T"), ("B_opt", "exp_N"))
HP_UNIT = 1e9  # N and T in billions in the noiseless least squares (Yin et al.'s notation)


# ---- provenance ------------------------------------------------------------------------------
def provenance(argv) -> str:
    """Command, date (UTC), commit and the uncommitted changes under bayeslaws/ at run time
    (git through ``bench_provenance.git``)."""
    git = bench_provenance.git
    changed = git("diff", "--name-only", "HEAD", "--", "bayeslaws").splitlines()
    changed += git("ls-files", "--others", "--exclude-standard", "--", "bayeslaws").splitlines()
    state = "none" if not changed else ", ".join(changed) + " (the run used these versions)"
    command = " ".join(["python", "paper_repro/hyperparams_loo.py", *argv])
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Written by `{command}` on {now}, bayeslaws commit {git('rev-parse', '--short', 'HEAD')}"
        f" (uncommitted changes under bayeslaws/: {state}). Do not edit by hand: rerun."
    )


# ---- fitting and scoring -----------------------------------------------------------------------
def fit_bowl(runs, args, options: dict, label: str):
    """Law "hyperparams" on ``runs`` with law ``options`` (the rest at the law's defaults);
    returns (fit, wall seconds)."""
    t0 = time.perf_counter()
    fit = bl.fit(
        runs,
        law="hyperparams",
        seed=args.seed,
        chains=args.chains,
        warmup=args.warmup,
        draws=args.draws,
        law_options=options,
        label=label,
        warn=False,
    )
    wall = time.perf_counter() - t0
    print(
        f"{label}: {wall:.0f} s, {health_words(fit)}; {'; '.join(fit.record.notes)}", flush=True
    )
    return fit, wall


def n_constant_terms(fit) -> int:
    """Runs whose pointwise log-likelihood is the same in every draw (loo_constant_safe)."""
    loglik = fit.idata.log_likelihood["log_loss"].stack(sample=("chain", "draw")).values
    return int((np.ptp(loglik, axis=1) == 0).sum())


def diff_against(loos: dict, label: str, reference: str) -> tuple[float, float]:
    """(elpd_loo of ``label`` minus that of ``reference``, its standard error): the sum and
    sqrt(n var) of the pointwise differences, as ArviZ's compare computes dse."""
    diff = np.asarray(loos[label].loo_i) - np.asarray(loos[reference].loo_i)
    return float(diff.sum()), float(np.sqrt(len(diff) * np.var(diff)))


def loo_table(fits: dict, walls: dict, reference: str) -> pd.DataFrame:
    """ArviZ's compare of the fits' PSIS-LOO (``loo_constant_safe``), best first, with each
    fit's elpd against the ``reference`` fit (the law's default), Pareto-k warnings and sampler
    diagnostics. ``fits``/``walls``: label -> fit / s. The fits are checked to score the same
    runs and observations (bayeslaws' compare rules)."""
    comparable_fits(list(fits.values()), list(fits), "hyperparams_loo")
    loos = {label: loo_constant_safe(fit.idata) for label, fit in fits.items()}
    with warnings.catch_warnings():  # ArviZ 0.23's own pandas deprecation (see bl.compare)
        warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame.sort_values")
        table = az.compare(loos, ic="loo")
    rows = []
    for label in table.index:
        row, loo, fit = table.loc[label], loos[label], fits[label]
        k = np.asarray(loo.pareto_k)
        d = fit.diagnostics
        all_sites = az.summary(fit.idata, kind="diagnostics", round_to="none")
        diff, dse = diff_against(loos, label, reference)
        rows.append(
            {
                "fit": label,
                "elpd_loo": f"{row['elpd_loo']:.1f}",
                "p_loo": f"{row['p_loo']:.1f}",
                "elpd_diff": f"{row['elpd_diff']:.1f}",
                "dse": f"{row['dse']:.1f}",
                "se": f"{row['se']:.1f}",
                f"elpd - elpd({reference}) (dse)": f"{diff:+.1f} ({dse:.1f})",
                "diff / dse": "-" if label == reference else f"{diff / dse:+.1f}",
                f"Pareto k > {loo.good_k:.2f}": int((k > loo.good_k).sum()),
                "max k": f"{k.max():.2f}",
                "constant terms": n_constant_terms(fit),
                "max R-hat (law / all sites)": f"{d.max_r_hat:.3f} / "
                f"{all_sites['r_hat'].max():.3f}",
                "min ESS bulk (law / all)": f"{d.min_ess_bulk:.0f} / "
                f"{all_sites['ess_bulk'].min():.0f}",
                "divergences": d.divergences,
                "wall s": round(walls[label]),
            }
        )
    return pd.DataFrame(rows).set_index("fit")


def interval(values: np.ndarray) -> str:
    """Median [lower, upper] of the central CI interval of draws."""
    lo, med, hi = np.quantile(values, [(1 - CI) / 2, 0.5, (1 + CI) / 2])
    return f"{med:.3f} [{lo:.3f}, {hi:.3f}]"


def estimates_table(fits: dict, units: str, truth: dict | None = None) -> pd.DataFrame:
    """Per fit: the law's exponents, lr_asym and rho (median [CI interval]); ``truth``: an
    extra first row of true values (the simulated sweep)."""
    rows = []
    if truth is not None:
        rows.append({"fit": "truth (simulator)", **truth})
    for label, fit in fits.items():
        law = fit.law_table(units=units, ci=CI)
        row = {"fit": label}
        for key in EXPONENTS:
            row[f"{key[0]} {key[1]}"] = (
                f"{law.loc[key, 'median']:.3f} [{law.loc[key, 'lower']:.3f}, "
                f"{law.loc[key, 'upper']:.3f}]"
            )
        post = fit.idata.posterior
        for name in ("lr_asym", "rho"):
            row[name] = interval(post[name].values.ravel()) if name in post else "-"
        rows.append(row)
    return pd.DataFrame(rows).set_index("fit")


def truth_estimates() -> dict:
    """The simulator truth in the columns of :func:`estimates_table`: its exponents, lr_asym
    (ln of the curvature ratio above / below the optimal lr) and rho (k_cross over
    2 sqrt(k_lr below x k_batch), the law's normalisation; scale-free)."""
    k_lo = TRUTH.k_lr * min(1.0, 1.0 + TRUTH.lr_asymmetry)
    return {
        "eta_opt exp_T": f"{TRUTH.eta_exp_T:.3f}",
        "eta_opt exp_N": f"{TRUTH.eta_exp_N:.3f}",
        "B_opt exp_T": f"{TRUTH.b_exp_T:.3f}",
        "B_opt exp_N": f"{TRUTH.b_exp_N:.3f}",
        "lr_asym": f"{np.log1p(TRUTH.lr_asymmetry):.3f}",
        "rho": f"{TRUTH.k_cross / (2 * np.sqrt(k_lo * TRUTH.k_batch)):.3f}",
    }


def data_summary(fit) -> str:
    """Runs fitted and the law's notes (exclusions, censoring) of one fit."""
    return f"{fit.record.data['n_rows_used']} runs fitted; {'; '.join(fit.record.notes)}"


def settings_text(args, fit) -> str:
    """Sampler settings and the law options and likelihood recorded in ``fit``."""
    options = ", ".join(f"{k}={v!r}" for k, v in fit.record.law_options.items())
    return (
        f"likelihood {fit.likelihood}; NUTS {args.chains} chains x {args.warmup} warmup + "
        f"{args.draws} draws, seed {args.seed}; law options ({fit.label}): {options}"
    )


# ---- one data set: bowl shapes, then bowl scales ---------------------------------------------
def shapes_and_scales(runs, args, options: dict, units: str, truth: dict | None = None):
    """LOO over the bowl shapes and over bowl_scale (bowl "full"); returns (shape LOO table,
    estimates table, scale LOO table, scale estimates, the shape fits by bowl, the "full"
    bowl_scale "loss" fit)."""
    fits, walls = {}, {}
    for bowl in BOWLS:
        fits[bowl], walls[bowl] = fit_bowl(runs, args, {**options, "bowl": bowl}, bowl)
    shapes = loo_table(fits, walls, LAW.bowl)
    estimates = estimates_table(fits, units, truth)
    loss_options = {**options, "bowl": "full", "bowl_scale": "loss"}
    loss_fit, loss_wall = fit_bowl(runs, args, loss_options, "full, loss")
    log_fit = fits["full"]
    same = np.array_equal(
        log_fit.idata.posterior["k_lr"].values, loss_fit.idata.posterior["k_lr"].values
    )
    if same or log_fit.record.law_options["bowl_scale"] != "log":
        raise RuntimeError("the bowl_scale 'loss' fit reused the 'log' fit's kernel or draws")
    scale_fits = {"full, log": log_fit, "full, loss": loss_fit}
    scales = loo_table(
        scale_fits, {"full, log": walls["full"], "full, loss": loss_wall}, "full, log"
    )
    scale_estimates = estimates_table(scale_fits, units, truth)
    return shapes, estimates, scales, scale_estimates, fits, loss_fit


# ---- noiseless least squares -----------------------------------------------------------------
def bowl_np(u, v, k_lo, k_hi, k_b, rho):
    """The law's bowl (HyperparamsLaw.bowl_value) in float64 numpy: k_lr(u) u^2 + k_b v^2 +
    2 rho sqrt(min(k_lo, k_hi) k_b) u v, k_lr(u) = k_lo for u <= 0, k_hi above."""
    k_u = np.where(u > 0, k_hi, k_lo)
    return k_u * u**2 + k_b * v**2 + 2 * rho * np.sqrt(min(k_lo, k_hi) * k_b) * u * v


def unpack(theta, n_cells: int, asym: bool):
    """(levels, ln eta*, ln B*) per cell and (k_lo, k_hi, k_b, rho) from the LS vector:
    3 values per cell, then ln k_lr, ln k_batch, atanh rho[, lr_asym]."""
    levels, m_lr, m_b = (
        theta[:n_cells],
        theta[n_cells : 2 * n_cells],
        theta[2 * n_cells : 3 * n_cells],
    )
    k_lo, k_b, rho = (
        np.exp(theta[3 * n_cells]),
        np.exp(theta[3 * n_cells + 1]),
        np.tanh(theta[3 * n_cells + 2]),
    )
    k_hi = k_lo * np.exp(theta[3 * n_cells + 3]) if asym else k_lo
    return levels, m_lr, m_b, (k_lo, k_hi, k_b, rho)


def ls_residuals(theta, cell, p, q, log_loss, n_cells, asym, scale):
    """ln loss of the model minus the observed ln loss: ``scale`` "log": level + bowl (the
    level a cell's ln L*); "loss": ln(exp(level) + bowl) (the bowl in loss units, as the
    simulator's truth)."""
    levels, m_lr, m_b, k = unpack(theta, n_cells, asym)
    bowl = bowl_np(p - m_lr[cell], q - m_b[cell], *k)
    if scale == "log":
        model = levels[cell] + bowl
    else:
        model = np.log(np.exp(levels[cell]) + bowl)
    return model - log_loss


def ols_law(ln_centre, ln_n, ln_t):
    """(c, exp_T, exp_N) of ln centre = ln c + exp_T ln T + exp_N ln N (OLS, N and T in
    billions)."""
    design = np.column_stack([np.ones_like(ln_n), ln_t, ln_n])
    coef, *_ = np.linalg.lstsq(design, ln_centre, rcond=None)
    return np.exp(coef[0]), coef[1], coef[2]


def noiseless_fit(df: pd.DataFrame, bowl: str, scale: str) -> dict:
    """Least squares of the bowl on the noiseless truth at the sweep's design ``df`` (N, D, lr,
    batch_size), then OLS of the fitted cell centres: the law's c, exp_T, exp_N for eta_opt and
    B_opt, the fitted lr_asym and rho, and the rms residual (ln loss)."""
    cells = df.groupby(["N", "D"], sort=True)
    cell = cells.ngroup().to_numpy()
    keys = np.array(list(cells.groups))  # (n_cells, 2): N, D in ngroup order
    n_cells = len(keys)
    p, q = np.log(df["lr"].to_numpy(float)), np.log(df["batch_size"].to_numpy(float))
    loss = TRUTH.loss(df["N"], df["D"], df["lr"], df["batch_size"])
    log_loss = np.log(loss)
    best = df.assign(loss=loss).loc[lambda t: t.groupby(["N", "D"])["loss"].idxmin()]
    best = best.set_index(["N", "D"]).loc[[tuple(k) for k in keys]]
    asym = bowl in ("asymmetric", "full")
    if bowl not in ("cross", "full"):
        raise ValueError(f"noiseless_fit: bowl must be 'cross' or 'full', got {bowl!r}")
    x0 = np.concatenate(
        [
            np.log(best["loss"].to_numpy()),
            np.log(best["lr"].to_numpy()),
            np.log(best["batch_size"].to_numpy()),
            [np.log(1e-3), np.log(1e-3), 0.0] + [0.0] * asym,
        ]
    )
    res = least_squares(
        ls_residuals,
        x0,
        args=(cell, p, q, log_loss, n_cells, asym, scale),
        xtol=1e-15,
        ftol=1e-15,
        gtol=1e-15,
        max_nfev=20000,
        x_scale="jac",
    )
    _, m_lr, m_b, (k_lo, k_hi, _, rho) = unpack(res.x, n_cells, asym)
    ln_n, ln_t = np.log(keys[:, 0] / HP_UNIT), np.log(keys[:, 1] / HP_UNIT)
    eta = ols_law(m_lr, ln_n, ln_t)
    b = ols_law(m_b, ln_n, ln_t)
    return {
        "eta c": f"{eta[0]:.4g}",
        "eta exp_T": f"{eta[1]:.4f}",
        "eta exp_N": f"{eta[2]:.4f}",
        "B c": f"{b[0]:.4g}",
        "B exp_T": f"{b[1]:.4f}",
        "B exp_N": f"{b[2]:.4f}",
        "lr_asym": f"{np.log(k_hi / k_lo):.3f}" if asym else "-",
        "rho": f"{rho:.3f}",
        "rms resid (ln loss)": f"{np.sqrt(np.mean(res.fun**2)):.1e}",
        "converged": bool(res.success),
    }


def noiseless_table(runs) -> pd.DataFrame:
    """The noiseless least-squares table: truth row, then each (bowl, scale)."""
    truth = truth_estimates()
    rows = [
        {
            "bowl fitted": "truth (simulator)",
            "scale": "loss",
            "eta c": f"{TRUTH.eta_coef:.4g}",
            "eta exp_T": f"{TRUTH.eta_exp_T:.4f}",
            "eta exp_N": f"{TRUTH.eta_exp_N:.4f}",
            "B c": f"{TRUTH.b_coef:.4g}",
            "B exp_T": f"{TRUTH.b_exp_T:.4f}",
            "B exp_N": f"{TRUTH.b_exp_N:.4f}",
            "lr_asym": truth["lr_asym"],
            "rho": truth["rho"],
            "rms resid (ln loss)": "",
            "converged": "",
        }
    ]
    for bowl in ("cross", "full"):
        for scale in ("log", "loss"):
            rows.append(
                {"bowl fitted": bowl, "scale": scale, **noiseless_fit(runs.df, bowl, scale)}
            )
            print(f"noiseless {bowl}/{scale}: {rows[-1]}", flush=True)
    return pd.DataFrame(rows).set_index(["bowl fitted", "scale"])


def noiseless_bias(table: pd.DataFrame) -> tuple[float, str]:
    """The largest |exponent - truth| over the noiseless least-squares fits of ``table``
    (:func:`noiseless_table`) and where it is (exponent, bowl, scale)."""
    truth = table.loc[("truth (simulator)", "loss")]
    worst, where = 0.0, ""
    for (bowl, scale), row in table.drop(index=[("truth (simulator)", "loss")]).iterrows():
        for column in ("eta exp_T", "eta exp_N", "B exp_T", "B exp_N"):
            error = abs(float(row[column]) - float(truth[column]))
            if error > worst:
                worst, where = error, f"{column}, bowl {bowl}, scale {scale}"
    return worst, where


def miss_text(fit, bias: float, where: str) -> str:
    """eta_opt's T exponent of ``fit`` (the default bowl on the simulated sweep) against the
    truth, in posterior sds, beside the largest noiseless bias of the shapes."""
    draws = fit.idata.posterior["lr_D"].values.ravel()  # eta_opt's exp_T (optima.law_table)
    median, sd = float(np.median(draws)), float(np.std(draws, ddof=1))
    z = (median - TRUTH.eta_exp_T) / sd
    verdict = (
        "so the shapes' bias is negligible beside the posterior sd: the estimate's distance "
        "from the truth on this sweep is its noise (coverage over replications is the check: "
        "hyperparams_coverage.md)"
        if bias < 0.25 * sd
        else "so the shapes' own bias is not negligible beside the posterior sd"
    )
    return (
        f"The default bowl ({fit.record.law_options['bowl']}) on this SIMULATED sweep: eta_opt "
        f"exp_T {median:.3f} (posterior sd {sd:.3f}) against the truth's {TRUTH.eta_exp_T:.3f}, "
        f"{z:+.2f} sd. The noiseless least squares miss the truth's exponents by at most "
        f"{bias:.4f} ({where}), {bias / sd:.2f} of that sd; {verdict}."
    )


# ---- the document --------------------------------------------------------------------------
def write(sections: list[str], results: Path) -> None:
    """Write the document ``sections`` to :data:`OUT_NAME` in the folder ``results``."""
    results.mkdir(parents=True, exist_ok=True)
    (results / OUT_NAME).write_text("\n\n".join(sections) + "\n")
    print(f"-> {results / OUT_NAME}", flush=True)


def loo_section(title: str, runs_text: str, settings: str, shapes, estimates) -> str:
    return "\n\n".join(
        [
            f"## {title}",
            f"{runs_text}. {settings}.",
            "PSIS-LOO by bowl shape (ArviZ compare, best first; elpd_diff and dse against the "
            "best, then each fit's elpd against the default shape's with the standard error of "
            "that difference, and their ratio; 'constant terms': runs whose log-likelihood is "
            "the same in every draw, scored exactly by loo_constant_safe; wall s: seconds per "
            "fit including compilation, on a shared 2-core machine):",
            markdown(shapes),
            f"Estimates (median [{CI:.0%} interval]):",
            markdown(estimates),
        ]
    )


def scale_section(rows: list[str]) -> str:
    return "\n\n".join(
        [
            '## Bowl in log loss vs in loss (`bowl_scale`), bowl "full", same process',
            "The compiled-kernel cache is keyed on the law options since b0bdaa7, so both fits "
            "run in this process (the script checks that their draws differ).",
            *rows,
        ]
    )


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # bl.fit's defaults
    parser.add_argument(
        "--chains", type=int, default=4, help="chains per fit (default %(default)s)"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=1000,
        help="warm-up iterations per chain (default %(default)s)",
    )
    parser.add_argument(
        "--draws", type=int, default=1000, help="draws per chain (default %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="sampler seed (default %(default)s)")
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS,
        metavar="DIR",
        help=f"folder {OUT_NAME} is written to (default %(default)s, where a run replaces the "
        "committed document; use a scratch folder for quick checks)",
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", category=UserWarning)
    header = (
        "# PSIS-LOO of the hyperparams law's bowl shapes and bowl scales; noiseless "
        "least-squares check (Step Law: real data; video-DiT sweep: SIMULATED)\n\n"
        + provenance(argv)
        + "\n\nLOO: ArviZ "
        + az.__version__
        + " `compare` of `benchmarks/steplaw_fit.py:loo_constant_safe`; fits checked to score "
        "the same runs and observations (bayeslaws' compare rules). Law options not named are "
        "the law's defaults at this commit (each section lists every option)."
    )
    sections = [header]
    sim = load_bundled()

    noiseless = noiseless_table(sim)
    sections.append(
        "\n\n".join(
            [
                "## Noiseless least squares on the SIMULATED design (bias of the bowl shapes)",
                f"The bundled sweep's design ({DEFAULT_DATASET}: {len(sim.df)} runs, "
                f"{sim.df.groupby(['N', 'D']).ngroups} (N, D) cells), its loss replaced by the "
                "simulator's noiseless truth (bayeslaws.runs.simulate.VideoDiTTruth: bowl in "
                "loss units, 1.5x steeper above the optimal lr). Least squares on ln loss: "
                "per-cell free levels and centres (ln eta*, ln B*), shared curvatures "
                '(k_lr, k_batch, rho; lr_asym for "full"); scale "log" = level + bowl, '
                '"loss" = ln(exp(level) + bowl). Then OLS of the cells\' centres on ln T, '
                "ln N (N, T in billions): eta_opt (B_opt) = c T^exp_T N^exp_N.",
                markdown(noiseless),
            ]
        )
    )
    write(sections, args.out)

    truth = truth_estimates()
    scale_rows = []
    datasets = [
        (
            "sim",
            "Simulated video-DiT sweep (SIMULATED: bundled, truth 1.5x steeper above the "
            "optimal lr)",
            lambda: sim,
            {},
            "billions",
            truth,
        ),
        (
            "steplaw",
            "Step Law dense (real data, Li et al. 2025; runs within 3% of each cell's best)",
            steplaw_dense,
            dict(STEPLAW_OPTIONS),
            "ones",
            None,
        ),
    ]
    for key, title, load, options, units, truth_row in datasets:
        try:
            runs = load()
        except SharedDataMissing as err:
            sections.append(f"## {title}\n\nNot run: {err}")
            scale_rows.append(f"{title}: not run ({err}).")
            write(sections, args.out)
            continue
        shapes, estimates, scales, scale_est, fits, loss_fit = shapes_and_scales(
            runs, args, options, units, truth_row
        )
        units_text = "N, T in billions" if units == "billions" else "N, T in ones"
        section = loo_section(
            title,
            data_summary(fits[LAW.bowl]),
            settings_text(args, fits[LAW.bowl]) + f"; exponents with {units_text}",
            shapes,
            estimates,
        )
        if key == "sim":
            section += "\n\n" + miss_text(fits[LAW.bowl], *noiseless_bias(noiseless))
        sections.append(section)
        scale_rows += [
            f"### {title}",
            settings_text(args, loss_fit),
            markdown(scales),
            markdown(scale_est),
        ]
        write(sections + [scale_section(scale_rows)], args.out)
    write(sections + [scale_section(scale_rows)], args.out)


if __name__ == "__main__":
    main()
