"""The typed record of a fit: everything needed to predict from it in another process, saved
inside the fit's netCDF file as JSON and versioned (``FORMAT_VERSION``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields

FORMAT_VERSION = 2
# record fields a fit file of this format may lack (written before them): their defaults apply
OPTIONAL_FIELDS = ("label", "extra", "law_excluded_runs", "loo_terms_version")


class IncompatibleFitFile(ValueError):
    """A file that is not a bayeslaws fit of this format (other version, edited or damaged)."""


def current_precision() -> str:
    """The float precision JAX computes in now: "float64" under ``jax_enable_x64``, else
    "float32"."""
    import jax.numpy as jnp  # when a record is made: reading one needs no JAX

    return jnp.result_type(float).name


@dataclass(frozen=True)
class SamplerRecord:
    """How the posterior was sampled (NUTS settings, seed, device backend, wall time, float
    precision).

    precision : the float precision the draws were sampled in ("float32", or "float64" under
        ``jax_enable_x64``; the same seed gives other draws in the other): the process's right
        after sampling (:func:`current_precision`). None: unknown (a fit saved before it was
        recorded).
    """

    chains: int
    warmup: int
    draws: int
    target_accept: float
    dense_mass: bool
    chain_method: str
    seed: int
    backend: str
    sampling_seconds: float  # mcmc.run wall time, compilation included
    precision: str | None = None


@dataclass(frozen=True)
class FitRecord:
    """What was fitted, and how.

    law, law_options : the law by :func:`bayeslaws.laws.law_ref` (a registered name or an import
        path ``module:ClassName``) and its options.
    likelihood, priors : the observation family and the priors used (JSON specs).
    scales : the reference scales of the centring, column -> natural log.
    groups : group labels in model order ([None] without groups).
    ranges : fitted range per column, column -> [min, max] (N params, D tokens, C FLOPs, ...).
    law_state : the law's own facts (read only by the law).
    compute_model, compute_model_name : how C relates to N and D (None for a user callable).
    data : provenance of the runs (source, row counts, exclusions with their reasons).
    training_runs : the fitted runs in canonical columns (column -> list), for calibration,
        model discrepancy and refits.
    law_excluded_runs : the runs the law's own rules left out of the fit (e.g. cells with no
        converged run, runs beyond a cell's fence), in ``training_runs``' layout plus their
        ``"accepted_rows"``; :func:`~.update.update_fit` puts them back, so that the law applies
        its rules to the whole updated table. User and screening exclusions are not here.
        None: a fit saved before they were kept.
    notes : plain-language remarks from the law (e.g. diverged runs censored).
    summary_names : the sites ``Fit.summary`` reports.
    diagnostics : R-hat, ESS and divergences (``Diagnostics.to_dict``) of the sites the law's
        :meth:`~bayeslaws.laws.contract.Law.checked_names` gives: the reported ones and any
        per-cell or per-group sites predictions read (e.g. law ``hyperparams``' ``z_lr``).
    sampler : :class:`SamplerRecord`.
    label : a name for the fit.
    loo_terms_version : the law's ``loo_terms_version`` when it was fitted: what its pointwise
        log-likelihood (``idata.log_likelihood``) means per run. A fit saved before it was kept
        lacks it and reads as 1 (every law's first version).
    """

    law: str
    law_options: dict
    likelihood: str
    priors: dict
    scales: dict
    groups: list
    ranges: dict
    law_state: dict
    compute_model: dict | None
    compute_model_name: str
    data: dict
    training_runs: dict | None
    notes: list
    summary_names: list
    diagnostics: dict
    sampler: SamplerRecord
    label: str | None = None
    bayeslaws_version: str = ""
    format_version: int = FORMAT_VERSION
    extra: dict = field(default_factory=dict)
    law_excluded_runs: dict | None = None
    loo_terms_version: int = 1

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: str = "the file") -> FitRecord:
        try:
            raw = json.loads(text)
        except (TypeError, ValueError) as err:
            raise IncompatibleFitFile(
                f"{where}: the fit record is not valid JSON ({err})"
            ) from None
        if not isinstance(raw, dict):
            raise IncompatibleFitFile(f"{where}: the fit record is not a JSON object")
        version = raw.get("format_version")
        if version != FORMAT_VERSION:
            raise IncompatibleFitFile(
                f"{where} was written in fit-file format {version} by bayeslaws "
                f"{raw.get('bayeslaws_version', '?')}; this bayeslaws reads format "
                f"{FORMAT_VERSION}. Refit the data with this version."
            )
        names = {f.name for f in fields(cls)}
        missing = sorted(n for n in names if n not in raw and n not in OPTIONAL_FIELDS)
        unknown = sorted(set(raw) - names)
        if missing or unknown:
            raise IncompatibleFitFile(
                f"{where}: fit record fields do not match this bayeslaws (missing {missing}, "
                f"unknown {unknown})"
            )
        try:
            raw["sampler"] = SamplerRecord(**raw["sampler"])
        except TypeError as err:
            raise IncompatibleFitFile(f"{where}: bad sampler record ({err})") from None
        return cls(**raw)
