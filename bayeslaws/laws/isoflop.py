"""isoFLOP law (Chinchilla approach 2; Liang et al.; Porian et al.): hierarchical per-budget
curves in log N whose vertices follow a power law in C, fitted jointly.

For runs at a few compute budgets C_j (FLOPs), with x = ln N - ln N_ref (N params),
c_j = ln C_j - ln C_ref and z = ln L - ln L_ref::

    z = m_j + h_j d^2 g(s_j d) [+ r_run],     d = x - v_j,   g(u) = 1 + u / sqrt(1 + (u/K)^2)

    v_j ~ Normal(n0 + a_opt c_j, vertex_sd)           (vertex: ln N_opt(C_j), centred)
    m_j ~ Normal(mu_L(c_j), loss_sd)                  (ln L at the vertex)
    mu_L(c) = l0 + a_L c                              (default: L_opt a pure power law in C)
    mu_L(c) = logaddexp(e_floor, l0 + a_L c)          (law_options={"loss_floor": True})
    h_j = exp(log_h_j), log_h_j ~ Normal(log_h0 + log_h1 c_j, h_sd)   (curvature, > 0)
    s_j = 0 (law "isoflop": parabola)  or  s_j ~ Normal(s0, s_sd) (law "isoflop_cubic")

per budget (partial pooling, sampled non-centred). The "cubic" is the cubic h d^2 (1 + s d) near
the vertex (g(u) = 1 + u + O(u^3)) whose skew saturates where |s d| nears K = ``SKEW_SATURATION``
= 0.8 (far out, an asymmetric parabola of curvature h (1 +- K)). A plain cubic turns over and
falls below the vertex for s d < -1, which made the posterior multimodal on Porian et al.'s
cosine-decay points (R-hat 1.84); this form rises monotonically on both sides of d = 0 for
every s (a stationary point away from 0 needs 2 + K phi(u/K) = 0 with
phi(r) = 2r / sqrt(1 + r^2) + r (1 + r^2)^-1.5 > -2, impossible for K < 1), so the vertex v_j is
ln N_opt and the curve's only minimum. (Bounding s itself instead, |s| < 0.8 with t(d) =
d / sqrt(1 + d^2), was tried first: it biased Kaplan's a to 0.865 with 49 divergences.)
``law_options={"skew_saturation": K}`` changes K; K >= 1 gives up the single-minimum guarantee
and K -> infinity is the plain cubic. The choice moves a_opt where the curves are strongly
skewed: on Porian et al.'s Kaplan-reproduction points a = 0.856 with K = 0.8 and 0.845 with
K = 100 (``python paper_repro/porian.py --only Kaplan --skew-saturation 100``).

So N_opt(C) = k_opt C^a_opt and L_opt(C) = k_L C^a_L, each with budget-level scatter
(vertex_sd, loss_sd) that widens the exponents' intervals when the per-budget optima do
not line up. With a ``run`` column in the run table (e.g. the model size, when points at different
budgets are read off one training run, as in Porian et al.'s ``const`` and ``kaplan`` decay), a
per-run offset r_run ~ Normal(0, run_sd) absorbs the errors those points share.

Per-run offsets and the curves are not separately identified: an offset that varies smoothly
with ln N (a tilt a + b x + c x^2 across the runs) is indistinguishable from a change of every
budget's curve, and a tilt moves each vertex by a different amount (by -b / 2h_j), so it biases
a_opt (measured on Porian et al.'s Kaplan-reproduction points: a = 0.910 with free offsets, 0.860
without offsets, against the authors' 0.835). By default (``run_offsets="detrended"``) the
offsets are therefore projected onto the complement of {1, x_run, x_run^2} (x_run the run's
centred ln N): they absorb run-to-run wiggles only, and the smooth shape stays with the curves.
``law_options={"run_offsets": "free"}`` gives the unconstrained version.

The optimal loss L_opt(C) is a pure power law k_L C^a_L by default (Liang et al.'s form). With
``law_options={"loss_floor": True}`` it is E_floor + k_L C^a_L (Porian et al.'s form): over
three decades of budgets ln L_opt is visibly concave in ln C (Porian et al.'s cosine-decay
points fall from 5.27 to 3.20), and the pure power law then under-predicts held-out larger
budgets by ~5% (measured: 11 held-out points, median error 5.5%, 90% coverage 55%).

Default priors:

* a_opt ~ Beta(2, 2) (mean 0.5; published values 0.46-0.86); n0 ~ Normal(0, 2);
  vertex_sd ~ HalfNormal(0.2) (ln N units);
* l0 ~ Normal(0, 0.5); a_L ~ Normal(0, 0.2); loss_sd ~ HalfNormal(0.02) (ln L units);
  with the floor: e_floor ~ Normal(-1, 1) (ln of E_floor / L_ref, the centred loss scale);
* log_h0 ~ Normal(-3.5, 1.5) (ln L rises by e^-3.5 ~ 3% at d = 1, i.e. 2.7x off the optimum);
  log_h1 ~ Normal(0, 0.3); h_sd ~ HalfNormal(0.3);
* cubic: s0 ~ Normal(0, 0.3), s_sd ~ HalfNormal(0.1);
* run_sd ~ HalfNormal(0.02); the likelihood's sigma (and nu) as for every law.

Reported: a_opt, k_opt (N_opt = k_opt C^a_opt, N params, C FLOPs), a_L, k_L, the scatter sds,
and per budget N_opt and L_opt. D_opt follows from the compute model (C = 6ND: D_opt =
C^(1 - a_opt) / (6 k_opt)). Treat this law as a diagnostic beside the surface-based allocation:
parabolas are biased when sweeps are off-centre or wide (MODELLING.md).
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pandas as pd

from ..likelihoods import default_noise_priors, observation, sample_noise_params
from ..runs import RunTable, RunTableError
from .base import with_overrides

BUDGET_RTOL = 1e-3  # budgets closer than this (relative) are one budget
SKEW_SATURATION = 0.8  # K: far from the vertex the curvature stays within h (1 +- K)


def curve(d, h, s, saturation: float = SKEW_SATURATION):
    """Rise of ln L above the vertex at d = ln N - ln N_opt: h d^2 g(s d) with
    g(u) = 1 + u / sqrt(1 + (u / K)^2), K = ``saturation`` (s = 0: the parabola; K -> infinity:
    the plain cubic). Numpy or JAX arrays."""
    u = s * d
    return h * d**2 * (1.0 + u / (1.0 + (u / saturation) ** 2) ** 0.5)


def _column(post: dict, name: str) -> np.ndarray:
    """Posterior draws of ``name`` as a column (S, 1), to broadcast against budgets."""
    return np.asarray(post[name], float)[:, None]


def budget_levels(C, rtol: float = BUDGET_RTOL):
    """Distinct budgets (sorted) and each value's index, merging values within ``rtol``."""
    C = np.asarray(C, float)
    order = np.sort(np.unique(C))
    levels = [order[0]]
    for value in order[1:]:
        if value > levels[-1] * (1 + rtol):
            levels.append(value)
    levels = np.asarray(levels)
    index = np.argmin(np.abs(np.log(C[:, None]) - np.log(levels[None, :])), axis=1)
    return levels, index.astype(np.int32)


class IsoFLOP:
    name = "isoflop"
    description = "per-budget parabolas in ln N, vertices N_opt = k C^a"
    cubic = False
    min_sizes = 3
    RUN_OFFSETS = ("detrended", "free")

    def __init__(
        self,
        run_offsets: str = "detrended",
        loss_floor: bool = False,
        skew_saturation: float = SKEW_SATURATION,
    ):
        if run_offsets not in self.RUN_OFFSETS:
            raise ValueError(f"run_offsets must be one of {self.RUN_OFFSETS}, got {run_offsets!r}")
        if not isinstance(loss_floor, bool):
            raise ValueError(f"loss_floor must be True or False, got {loss_floor!r}")
        if not (isinstance(skew_saturation, int | float) and skew_saturation > 0):
            raise ValueError(f"skew_saturation must be a number > 0, got {skew_saturation!r}")
        self.skew_saturation = float(skew_saturation)
        self.run_offsets = run_offsets
        self.loss_floor = loss_floor

    @property
    def options(self) -> dict:
        return {
            "run_offsets": self.run_offsets,
            "loss_floor": self.loss_floor,
            "skew_saturation": self.skew_saturation,
        }

    def loss_trend(self, l0, a_L, c, e_floor=None):
        """mu_L(c): centred ln L_opt at centred ln budgets c (numpy or JAX, broadcast)."""
        power = l0 + a_L * c
        if not self.loss_floor:
            return power
        logaddexp = jnp.logaddexp if isinstance(power, jnp.ndarray) else np.logaddexp
        return logaddexp(e_floor, power)

    def configure(self, **options):
        """A copy with some options changed (``bl.fit(..., law_options={...})`` calls this)."""
        unknown = set(options) - set(self.options)
        if unknown:
            raise ValueError(
                f"unknown option(s) {sorted(unknown)} for law {self.name!r}; options are "
                f"{sorted(self.options)}"
            )
        return type(self)(**{**self.options, **options})

    def default_priors(self) -> dict:
        priors = {
            "a_opt": dist.Beta(2.0, 2.0),
            "n0": dist.Normal(0.0, 2.0),
            "vertex_sd": dist.HalfNormal(0.2),
            "l0": dist.Normal(0.0, 0.5),
            "a_L": dist.Normal(0.0, 0.2),
            "loss_sd": dist.HalfNormal(0.02),
            "log_h0": dist.Normal(-3.5, 1.5),
            "log_h1": dist.Normal(0.0, 0.3),
            "h_sd": dist.HalfNormal(0.3),
            "run_sd": dist.HalfNormal(0.02),
        }
        if self.loss_floor:
            priors["e_floor"] = dist.Normal(-1.0, 1.0)
        if self.cubic:
            priors["s0"] = dist.Normal(0.0, 0.3)
            priors["s_sd"] = dist.HalfNormal(0.1)
        return priors

    def priors(self, likelihood: str, overrides: dict | None = None) -> dict:
        priors = {**self.default_priors(), **default_noise_priors(likelihood)}
        return with_overrides(priors, overrides, set(priors), self.name)

    # ---- model ----------------------------------------------------------------------------
    def model(
        self,
        x,
        c,
        budget_index,
        run_index,
        run_ids,
        run_proj,
        refs,
        priors,
        likelihood,
        z_obs=None,
        n_groups=1,
    ):
        # sizes come from array shapes, so the model also runs with jit-compiled arguments
        J, n_run_ids = c.shape[0], run_ids.shape[0]
        a_opt = numpyro.sample("a_opt", priors["a_opt"])
        n0 = numpyro.sample("n0", priors["n0"])
        vertex_sd = numpyro.sample("vertex_sd", priors["vertex_sd"])
        l0 = numpyro.sample("l0", priors["l0"])
        a_L = numpyro.sample("a_L", priors["a_L"])
        loss_sd = numpyro.sample("loss_sd", priors["loss_sd"])
        e_floor = numpyro.sample("e_floor", priors["e_floor"]) if self.loss_floor else None
        log_h0 = numpyro.sample("log_h0", priors["log_h0"])
        log_h1 = numpyro.sample("log_h1", priors["log_h1"])
        h_sd = numpyro.sample("h_sd", priors["h_sd"])
        if self.cubic:
            s0 = numpyro.sample("s0", priors["s0"])
            s_sd = numpyro.sample("s_sd", priors["s_sd"])
        # Non-centred per-budget deviations: with few budgets the scatter sds are weakly
        # identified and reach zero, where a centred form makes funnels (measured: 3 budgets,
        # centred R-hat 1.05-1.14; non-centred is clean at Liang's six budgets).
        with numpyro.plate("budgets", J):
            zv = numpyro.sample("zv", dist.Normal(0.0, 1.0))
            zl = numpyro.sample("zl", dist.Normal(0.0, 1.0))
            zh = numpyro.sample("zh", dist.Normal(0.0, 1.0))
            zs = numpyro.sample("zs", dist.Normal(0.0, 1.0)) if self.cubic else None
        v = numpyro.deterministic("v", n0 + a_opt * c + vertex_sd * zv)
        m = numpyro.deterministic("m", self.loss_trend(l0, a_L, c, e_floor) + loss_sd * zl)
        log_h = numpyro.deterministic("log_h", log_h0 + log_h1 * c + h_sd * zh)
        s = numpyro.deterministic("s", s0 + s_sd * zs) if self.cubic else jnp.zeros(J)
        h = jnp.exp(log_h)
        log_N_ref, log_C_ref, log_L_ref = refs
        numpyro.deterministic("k_opt", jnp.exp(n0 + log_N_ref - a_opt * log_C_ref))
        numpyro.deterministic("k_L", jnp.exp(l0 + log_L_ref - a_L * log_C_ref))
        if self.loss_floor:
            numpyro.deterministic("E_floor", jnp.exp(e_floor + log_L_ref))
        numpyro.deterministic("N_opt", jnp.exp(v + log_N_ref))
        numpyro.deterministic("L_opt", jnp.exp(m + log_L_ref))
        d = x - v[budget_index]
        mu = m[budget_index] + curve(d, h[budget_index], s[budget_index], self.skew_saturation)
        if n_run_ids > 0:
            run_sd = numpyro.sample("run_sd", priors["run_sd"])
            with numpyro.plate("run_ids", n_run_ids):
                zr = numpyro.sample("zr", dist.Normal(0.0, 1.0))
            offsets = run_proj @ zr  # identity ("free") or the detrending projection
            mu = mu + run_sd * offsets[run_index]
        sigma, nu = sample_noise_params(likelihood, priors)
        with numpyro.plate("runs", x.shape[0]):
            numpyro.sample("log_loss", observation(likelihood, mu, sigma, nu), obs=z_obs)

    def prepare(self, runs: RunTable) -> tuple[dict, dict]:
        df = runs.df
        if runs.has_groups:
            raise RunTableError(
                f"law {self.name!r} fits one family at a time; the run table has groups "
                f"{runs.groups}: fit each with RunTable.subset()"
            )
        if df["loss"].isna().any():
            raise RunTableError(
                f"law {self.name!r} needs a loss for every run; column 'loss' is missing at rows "
                f"{df.index[df['loss'].isna()].tolist()[:10]}"
            )
        levels, index = budget_levels(df["C"].to_numpy(float))
        if len(levels) < 3:
            raise RunTableError(
                f"law {self.name!r} needs runs at >= 3 compute budgets (column 'C'); found "
                f"{len(levels)}: {levels.tolist()}"
            )
        N = df["N"].to_numpy(float)
        for j, budget in enumerate(levels):
            sizes = np.unique(N[index == j]).size
            if sizes < self.min_sizes:
                raise RunTableError(
                    f"law {self.name!r} needs >= {self.min_sizes} model sizes (column 'N') per "
                    f"budget; budget C = {budget:.3g} has {sizes}"
                )
        log_N_ref = float(np.mean(np.log(N)))
        log_C_ref = float(np.mean(np.log(levels)))
        log_L_ref = float(np.mean(np.log(df["loss"].to_numpy(float))))
        if "run" in df:
            labels = df["run"].astype(str)
            run_ids = sorted(labels.unique())
            run_index = np.array([run_ids.index(r) for r in labels], dtype=np.int32)
        else:
            run_ids, run_index = [], np.zeros(len(df), dtype=np.int32)
        run_proj = np.eye(len(run_ids))
        x_all = np.log(N) - log_N_ref
        if run_ids and self.run_offsets == "detrended":
            x_run = np.array([x_all[run_index == i].mean() for i in range(len(run_ids))])
            basis = np.vander(x_run, 3, increasing=True)  # 1, x, x^2
            q, _ = np.linalg.qr(basis)
            rank = min(np.linalg.matrix_rank(basis), len(run_ids))
            q = q[:, :rank]
            run_proj = np.eye(len(run_ids)) - q @ q.T
        model_args = {
            "x": jnp.asarray(x_all),
            "c": jnp.asarray(np.log(levels) - log_C_ref),
            "budget_index": jnp.asarray(index),
            "run_index": jnp.asarray(run_index),
            "run_ids": jnp.zeros(len(run_ids)),
            "run_proj": jnp.asarray(run_proj),
            "refs": (log_N_ref, log_C_ref, log_L_ref),
            "z_obs": jnp.asarray(np.log(df["loss"].to_numpy(float)) - log_L_ref),
        }
        info = {
            "isoflop_scales": {
                "log_N_ref": log_N_ref,
                "log_C_ref": log_C_ref,
                "log_L_ref": log_L_ref,
            },
            "budgets": levels.tolist(),
            "n_run_ids": len(run_ids),
            "run_offsets": self.run_offsets if run_ids else None,
            "law_options": self.options,
            "groups": [None],
            "ranges": {c: [float(df[c].min()), float(df[c].max())] for c in ("N", "D", "C")},
        }
        return model_args, info

    def summary_names(self, n_groups: int, likelihood: str) -> list[str]:
        # "a_opt" is left out: fit() appends it (and N_opt, L_opt) to every summary already
        # capitalised deterministics (E_floor, N_opt, L_opt) are appended by fit() too
        names = ["k_opt", "a_L", "k_L", "vertex_sd", "loss_sd", "log_h0", "log_h1"]
        names += ["h_sd"] + (["s0", "s_sd"] if self.cubic else [])
        return names + ["run_sd", "sigma"] + (["nu"] if likelihood == "student_t" else [])

    def group_dims(self) -> dict:
        return {}

    # ---- draws out ------------------------------------------------------------------------
    @staticmethod
    def _refs(fit):
        s = fit.spec["isoflop_scales"]
        return s["log_N_ref"], s["log_C_ref"], s["log_L_ref"]

    def budget_draws(self, fit, C, seed: int = 0) -> dict:
        """Per-draw curve parameters (v, m, h, s: arrays (S, Q), centred ln units) at budgets C.

        A fitted budget uses its own fitted values; any other budget gets fresh budget-level
        deviations from the fitted scatter (a new budget), one per draw and budget.
        """
        post = fit.draws()
        lN, lC, lL = self._refs(fit)
        C = np.atleast_1d(np.asarray(C, float))
        c = np.log(C) - lC
        S, Q = post["a_opt"].shape[0], len(C)
        rng = np.random.default_rng(seed)
        fitted = np.asarray(fit.spec["budgets"])
        match = np.abs(np.log(C[:, None] / fitted[None, :])) < BUDGET_RTOL

        col = functools.partial(_column, post)

        means = {
            "v": col("n0") + col("a_opt") * c,
            "m": self._trend(post, c),
            "log_h": col("log_h0") + col("log_h1") * c,
        }
        sds = {"v": "vertex_sd", "m": "loss_sd", "log_h": "h_sd"}
        if "s0" in post:
            means["s"], sds["s"] = col("s0") * np.ones((1, Q)), "s_sd"
        out = {}
        for key, mean in means.items():
            value = mean + col(sds[key]) * rng.standard_normal((S, Q))  # a new budget
            for q in range(Q):
                if match[q].any():  # a fitted budget: its own draws
                    value[:, q] = post[key][:, int(np.argmax(match[q]))]
            out[key] = value
        v, m, h = out["v"], out["m"], np.exp(out["log_h"])
        s = out.get("s", np.zeros((S, Q)))
        return {"v": v, "m": m, "h": h, "s": s}

    def allocation_draws(self, fit, C, compute_model, group=None, seed: int = 0) -> dict:
        """N_opt = k_opt C^a_opt and L_opt = k_L C^a_L per draw (the laws, without budget
        scatter); D_opt from the compute model."""
        if group is not None:
            raise ValueError(f"group={group!r}: isoflop fits have no groups")
        post = fit.draws(["a_opt", "n0", "l0", "a_L"] + (["e_floor"] if self.loss_floor else []))
        lN, lC, lL = self._refs(fit)
        c = np.log(np.asarray(C, float))[None, :] - lC
        N_opt = np.exp(post["n0"][:, None] + post["a_opt"][:, None] * c + lN)
        L_opt = np.exp(self._trend(post, c) + lL)
        return {
            "N_opt": N_opt,
            "D_opt": np.asarray(compute_model.tokens(N_opt, np.asarray(C, float)[None, :])),
            "L_opt": L_opt,
            "at_boundary": np.zeros(N_opt.shape, bool),
            "method": "isoflop_law",
        }

    def _trend(self, post, c):
        """mu_L(c) per draw: (S, Q) for centred ln budgets c (Q,)."""

        col = functools.partial(_column, post)

        floor = col("e_floor") if self.loss_floor else None
        return self.loss_trend(col("l0"), col("a_L"), c, floor)

    def _log_loss(self, fit, C, N, budget):
        lN, lC, lL = self._refs(fit)
        d = np.log(np.asarray(N, float)) - lN - budget["v"]
        return budget["m"] + curve(d, budget["h"], budget["s"], self.skew_saturation) + lL

    def profile_log_loss_draws(self, fit, C, N, group=None, seed: int = 0):
        """ln L along the isoFLOP curve of budget C at sizes N, per draw: (S, G). Uses the law
        (no budget scatter), so its minimum is at N_opt = k_opt C^a_opt."""
        if group is not None:
            raise ValueError(f"group={group!r}: isoflop fits have no groups")
        post = fit.draws()
        lN, lC, lL = self._refs(fit)
        c = np.log(float(C)) - lC

        col = functools.partial(_column, post)

        budget = {
            "v": col("n0") + col("a_opt") * c,
            "m": self._trend(post, c),
            "h": np.exp(col("log_h0") + col("log_h1") * c),
            "s": col("s0") if "s0" in post else 0.0,
        }
        return self._log_loss(fit, C, np.asarray(N, float)[None, :], budget)

    def predict(self, fit, N=None, D=None, C=None, *, ci=0.9, kind="mean", group=None, seed=0):
        """Loss at (N, C) points from the budget curves, with intervals. A fitted budget uses
        its own curve; a new budget draws fresh budget-level deviations (honest for held-out
        budgets). ``kind="new_run"`` adds the likelihood's noise and the per-run offset."""
        import jax

        from ..predict import query_points, summarise_draws

        if kind not in ("mean", "new_run"):
            raise ValueError(f"kind must be 'mean' or 'new_run', got {kind!r}")
        if group is not None:
            raise ValueError(f"group={group!r}: isoflop fits have no groups")
        points = query_points(fit, N, D, C)
        budgets = points["C"].to_numpy()
        levels, index = budget_levels(budgets)
        draws = self.budget_draws(fit, levels, seed)
        per_point = {k: v[:, index] for k, v in draws.items()}
        log_L = self._log_loss(fit, budgets, points["N"].to_numpy()[None, :], per_point)
        if kind == "new_run":
            post = fit.draws()
            sigma = jnp.asarray(post["sigma"])[:, None]
            nu = jnp.asarray(post["nu"])[:, None] if "nu" in post else None
            noise = observation(fit.likelihood, jnp.zeros(log_L.shape), sigma, nu)
            log_L = log_L + np.asarray(noise.sample(jax.random.PRNGKey(seed)))
            if "run_sd" in post:
                rng = np.random.default_rng(seed + 1)
                log_L = log_L + post["run_sd"][:, None] * rng.standard_normal(log_L.shape)
        return summarise_draws(points, np.exp(log_L), ci, kind, fit.spec["ranges"], axes=("N", "C"))

    def law_table(self, fit, ci: float = 0.9, compute_model=None) -> pd.DataFrame:
        """N_opt, D_opt and L_opt as k C^a with intervals (see allocation_laws)."""
        from ..allocation import allocation_laws

        return allocation_laws(fit, ci=ci, compute_model=compute_model)


class IsoFLOPCubic(IsoFLOP):
    name = "isoflop_cubic"
    description = "per-budget cubics in ln N (minimum at the vertex), vertices N_opt = k C^a"
    cubic = True
    min_sizes = 4


LAW = IsoFLOP()
LAW_CUBIC = IsoFLOPCubic()
