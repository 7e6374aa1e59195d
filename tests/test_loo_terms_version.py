"""A fit whose stored pointwise log-likelihood is of an older version of its law's terms
(``loo_terms_version``; e.g. a sweep fit saved when its terms were the chain-rule terms) is
compared on terms recomputed from its stored draws and training runs, with a warning; it is
refused only when they cannot be recomputed. Uses the shared tiny sweep fit (1 chain x 150 +
150, ``small_sweep_sweep_fit``)."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace

import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.inference.nuts import LooTermsRecomputedWarning, current_loo_terms
from bayeslaws.inference.record import FitRecord


def old_file_fit(fit, log_lik_value: float = -5.0, **record_changes):
    """``fit`` as an older bayeslaws saved it: record version 1 (``record_changes`` applied too)
    and a log-likelihood group of other terms (every term ``log_lik_value``, nats)."""
    stored = fit.idata.log_likelihood
    other = stored.copy(data={k: np.full(v.shape, log_lik_value) for k, v in stored.items()})
    groups = {g: fit.idata[g] for g in fit.idata.groups() if g != "log_likelihood"}
    idata = type(fit.idata)(**groups, log_likelihood=other)
    record = replace(fit.record, loo_terms_version=1, **record_changes)
    return bl.Fit(idata, record, compute_model=fit.compute_model)


def compare_quietly(fits: dict):
    """bl.compare of ``fits``, its warnings recorded: (table, warnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = bl.compare(fits)
    return table, caught


def recomputed(caught) -> list:
    return [w for w in caught if issubclass(w.category, LooTermsRecomputedWarning)]


def test_compare_recomputes_the_terms_of_an_old_fit(small_sweep_sweep_fit):
    """compare() of an old file's fit (version 1, other stored terms) against the current fit
    scores the same elpd as the current fit's, says the terms were recomputed, and leaves the
    old fit as it was."""
    fit = small_sweep_sweep_fit
    old = old_file_fit(fit)
    table, caught = compare_quietly({"new": fit, "old": old})
    assert table.loc["old", "elpd_loo"] == pytest.approx(table.loc["new", "elpd_loo"], rel=1e-9)
    assert table.loc["old", "p_loo"] == pytest.approx(table.loc["new", "p_loo"], rel=1e-9)
    (note,) = recomputed(caught)
    assert "fit 'old'" in str(note.message) and "recomputed from its stored" in str(note.message)
    assert old.record.loo_terms_version == 1  # the user's fit is unchanged
    assert np.all(np.asarray(old.idata.log_likelihood["log_loss"]) == -5.0)


def test_current_loo_terms_reproduces_the_stored_terms(small_sweep_sweep_fit):
    """The recomputed terms are those the fit collected after sampling (to float32 rounding),
    in the same layout; a fit of the current version is returned as it is, silently."""
    fit = small_sweep_sweep_fit
    with pytest.warns(LooTermsRecomputedWarning, match="fit 'mine'"):
        current = current_loo_terms(old_file_fit(fit), "mine")
    assert current.record.loo_terms_version == fit.law.loo_terms_version == 2
    stored, again = fit.idata.log_likelihood, current.idata.log_likelihood
    assert dict(again.sizes) == dict(stored.sizes)
    np.testing.assert_allclose(again["log_loss"], stored["log_loss"], rtol=1e-5, atol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert current_loo_terms(fit) is fit


def test_a_file_saved_before_the_version_was_kept_is_compared(
    small_sweep_sweep_fit, tmp_path, monkeypatch
):
    """A file without the record field (it reads as version 1) and with other stored terms,
    loaded: compare() recomputes its terms and scores the current fit's elpd."""
    fit = small_sweep_sweep_fit
    to_json = FitRecord.to_json

    def without_field(record):  # the record as bayeslaws wrote it before the field
        raw = json.loads(to_json(record))
        del raw["loo_terms_version"]
        return json.dumps(raw, sort_keys=True)

    path = tmp_path / "old.nc"
    with monkeypatch.context() as patch:
        patch.setattr(FitRecord, "to_json", without_field)
        old_file_fit(fit, log_lik_value=-1.0).save(path)
    with warnings.catch_warnings():  # the tiny fit's sampler trouble, told on loading
        warnings.simplefilter("ignore")
        loaded = bl.load_fit(path)
    assert loaded.record.loo_terms_version == 1
    table, caught = compare_quietly({"new": fit, "old": loaded})
    assert table.loc["old", "elpd_loo"] == pytest.approx(table.loc["new", "elpd_loo"], rel=1e-9)
    assert len(recomputed(caught)) == 1


def test_compare_refuses_an_old_fit_without_its_training_runs(small_sweep_sweep_fit):
    """Terms that cannot be recomputed (no stored training runs) are refused, saying why."""
    old = old_file_fit(small_sweep_sweep_fit, training_runs=None)
    with pytest.raises(ValueError, match=r"fit 'old' \(law 'sweep'.*stores version 1 .*"
                       r"computes version 2.*cannot be recomputed .*stores no training runs.*"
                       r"Refit .*fit\.update"):  # fmt: skip
        bl.compare({"new": small_sweep_sweep_fit, "old": old})


def test_compare_refuses_an_old_fit_lacking_draws_of_a_site(small_sweep_sweep_fit):
    """Draws lacking a site the law's model samples cannot give its terms: refused."""
    fit = small_sweep_sweep_fit
    old = old_file_fit(fit)
    groups = {g: old.idata[g] for g in old.idata.groups()}
    groups["posterior"] = groups["posterior"].drop_vars("sigma")  # the run noise, sampled
    old = bl.Fit(type(old.idata)(**groups), old.record, compute_model=fit.compute_model)
    with pytest.raises(ValueError, match=r"fit 'old'.*cannot be recomputed.*lack site\(s\) "
                       r"\['sigma'\]"):  # fmt: skip
        bl.compare({"new": fit, "old": old})
