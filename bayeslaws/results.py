"""A fitted law: the ArviZ InferenceData plus everything needed to predict from it in another
process (law, priors, likelihood, units, compute model, reference scales, version)."""

from __future__ import annotations

import json
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd

from .compute import ComputeModel, compute_model_from_dict
from .diagnostics import Diagnostics
from .laws import get_law
from .priors import spec_to_priors

FORMAT_VERSION = 1
SPEC_ATTR = "bayeslaws_spec"


class IncompatibleFitFile(ValueError):
    """A saved fit written by an incompatible bayeslaws version."""


class Fit:
    """A law fitted by NUTS.

    Attributes
    ----------
    idata : arviz.InferenceData (posterior, sample_stats, log_likelihood, observed_data,
        optionally prior).
    spec : JSON-ready description: law, likelihood, priors, scales, groups, fitted ranges,
        compute model, data record, sampler settings, versions.
    diagnostics : :class:`~bayeslaws.diagnostics.Diagnostics` of the run.
    """

    def __init__(self, idata, spec: dict, diagnostics: Diagnostics, compute_model=None):
        self.idata = idata
        self.spec = spec
        self.diagnostics = diagnostics
        self._compute_model = compute_model

    # ---- what was fitted -----------------------------------------------------------------------
    @property
    def law(self):
        """The fitted law, configured with the options it was fitted with."""
        law = get_law(self.spec["law"])
        options = self.spec.get("law_options")
        if options and hasattr(law, "configure"):
            law = law.configure(**options)
        return law

    @property
    def likelihood(self) -> str:
        return self.spec["likelihood"]

    @property
    def priors(self) -> dict:
        return spec_to_priors(self.spec["priors"])

    @property
    def groups(self) -> list:
        return self.spec["groups"]

    @property
    def label(self) -> str:
        return self.spec.get("label") or f"{self.spec['law']}/{self.likelihood}"

    @property
    def compute_model(self) -> ComputeModel:
        if self._compute_model is not None:
            return self._compute_model
        saved = self.spec.get("compute_model")
        if saved is None:
            raise ValueError(
                "this fit used a user compute model that was not saved; set fit.compute_model "
                "= bayeslaws.compute.custom(...) before predicting from C"
            )
        return compute_model_from_dict(saved)

    @compute_model.setter
    def compute_model(self, model: ComputeModel) -> None:
        self._compute_model = model

    def __repr__(self) -> str:
        d = self.diagnostics
        return (
            f"<Fit {self.label}: {self.spec['data']['n_rows_used']} runs, "
            f"{d.n_draws} draws, max R-hat {d.max_r_hat:.3f}, min ESS {d.min_ess_bulk:.0f}, "
            f"{d.divergences} divergences{'' if d.ok else ' — see fit.diagnostics'}>"
        )

    # ---- draws and summaries -------------------------------------------------------------------
    def draws(self, var_names=None) -> dict:
        """Posterior draws with chains flattened: name -> array of shape (S, ...)."""
        post = self.idata.posterior
        names = var_names or list(post.data_vars)
        out = {}
        for name in names:
            values = post[name].values
            out[name] = values.reshape((-1,) + values.shape[2:])
        return out

    def summary(self, ci: float = 0.9, var_names=None) -> pd.DataFrame:
        """One row per parameter: mean, sd, lower/median/upper quantiles of the central ``ci``
        interval (labelled e.g. 5%, 50%, 95%), r_hat, ess_bulk, ess_tail."""
        if not 0 < ci < 1:
            raise ValueError(f"ci must be in (0, 1), got {ci}")
        names = var_names or self.spec["summary_names"]
        names = [n for n in names if n in self.idata.posterior]
        lo, hi = (1 - ci) / 2, (1 + ci) / 2
        r_hat = az.rhat(self.idata, var_names=names)
        ess_bulk = az.ess(self.idata, var_names=names, method="bulk")
        ess_tail = az.ess(self.idata, var_names=names, method="tail")
        rows = []
        for name in names:
            draws = self.idata.posterior[name].stack(sample=("chain", "draw"))
            extra = [d for d in draws.dims if d != "sample"]
            flat = draws.transpose(*extra, "sample").values.reshape(-1, draws.sizes["sample"])
            labels = [name]
            if extra:
                coords = draws[extra[0]].values
                labels = [f"{name}[{c}]" for c in coords]
            for i, label in enumerate(labels):
                x = flat[i]
                rows.append(
                    {
                        "parameter": label,
                        "mean": x.mean(),
                        "sd": x.std(ddof=1),
                        f"{100 * lo:g}%": np.quantile(x, lo),
                        "50%": np.quantile(x, 0.5),
                        f"{100 * hi:g}%": np.quantile(x, hi),
                        "r_hat": np.ravel(r_hat[name].values)[i],
                        "ess_bulk": np.ravel(ess_bulk[name].values)[i],
                        "ess_tail": np.ravel(ess_tail[name].values)[i],
                    }
                )
        return pd.DataFrame(rows).set_index("parameter")

    def law_table(self, **kwargs) -> pd.DataFrame:
        """The fitted law in its papers' notation, with intervals (laws that define one)."""
        if not hasattr(self.law, "law_table"):
            raise NotImplementedError(f"law {self.spec['law']!r} has no law_table()")
        return self.law.law_table(self, **kwargs)

    # ---- persistence ---------------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write the fit to a netCDF file (ArviZ) that :func:`load_fit` reads back."""
        path = Path(path)
        idata = self.idata.copy()
        spec = dict(self.spec, diagnostics=self.diagnostics.to_dict())
        idata.posterior.attrs[SPEC_ATTR] = json.dumps(spec)
        idata.to_netcdf(str(path), engine="h5netcdf")
        return path


def load_fit(path) -> Fit:
    """Read a fit written by :meth:`Fit.save`; refuses files of another format version."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no fit file at {str(path)!r}")
    idata = az.from_netcdf(str(path), engine="h5netcdf")
    raw = idata.posterior.attrs.get(SPEC_ATTR)
    if raw is None:
        raise IncompatibleFitFile(f"{str(path)!r} is a netCDF file but not a bayeslaws fit")
    spec = json.loads(raw)
    version = spec.get("format_version")
    if version != FORMAT_VERSION:
        raise IncompatibleFitFile(
            f"{str(path)!r} was written in fit-file format {version} by bayeslaws "
            f"{spec.get('bayeslaws_version')}; this bayeslaws reads format {FORMAT_VERSION}. "
            "Refit the data with this version."
        )
    diagnostics = Diagnostics(**spec.pop("diagnostics"))
    idata.posterior.attrs.pop(SPEC_ATTR, None)
    return Fit(idata, spec, diagnostics)
