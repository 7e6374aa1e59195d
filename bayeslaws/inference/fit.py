"""A fitted law: the ArviZ InferenceData, the typed :class:`~.record.FitRecord`, the sampler
diagnostics and an explicit cache of what predictions compute lazily.

Saved as one netCDF file (ArviZ, h5netcdf): the record, the cache and a SHA-256 checksum of
both and of every group's arrays (draws, log-likelihood, sampler statistics, observations,
coordinates) travel in the posterior group's attributes. Writes are atomic
(a temporary file in the target folder, then ``os.replace``), so a killed or concurrent save
never leaves a half-written file at the target path (the temporary file a killed save leaves,
``.NAME.*.tmp``, is removed by a later save to that name once it is stale); a file edited or
damaged after saving is refused on load.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import itertools
import json
import os
import re
import sys
import tempfile
import warnings
from dataclasses import replace
from pathlib import Path

import jax
import numpy as np
import numpyro
import numpyro.handlers
import pandas as pd

from ..laws import LAWS, MAIN_MODULES, class_ref, resolve_law, unportable_reason
from ..laws.contract import Posterior, Scales, code_digest
from ..laws.priors import spec_to_priors
from ..runs import RunTable, load_runs
from ..runs.checks import ArgumentTypeError, check_probability
from ..runs.compute import ComputeModel, compute_model_from_dict
from ..runs.provenance import recorded_extent
from ..runs.warn import user_stacklevel
from .deferred import arviz
from .diagnostics import Diagnostics, SamplerWarning, rhat_ess
from .exported import remove_stale
from .record import FitRecord, IncompatibleFitFile

RECORD_ATTR = "bayeslaws_record"
CACHE_ATTR = "bayeslaws_cache"
CHECKSUM_ATTR = "bayeslaws_checksum"
CHECKSUM_SCHEME = "sha256-all-groups:"  # files saved before it hold the posterior's checksum only


class FitCache:
    """What predictions compute lazily from a fit and keep, so that they are computed once.

    Keys (each a JSON-ready dict, written by :mod:`bayeslaws.posterior.extrapolation`):

    * ``"gp"``: the Gaussian-process model discrepancy fitted to the training residuals;
    * ``"distance"``, ``"distance_after_gp"``: the distance-growing discrepancy scales learned
      by scale-out cross-validation (refits);
    * ``"stacking"``: the stacked functional forms' weights and draws;
    * ``"unavailable"``: why a widening could not be used (recorded once, with a warning).

    Nothing else is written into a fit after fitting. The cache is saved with the fit.
    """

    def __init__(self, entries: dict | None = None):
        self._entries = dict(entries or {})

    def get(self, key: str, default=None):
        return self._entries.get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def __setitem__(self, key: str, value) -> None:
        json.dumps(value)  # must be JSON-ready: it is saved with the fit
        self._entries[key] = value

    def __getitem__(self, key: str):
        return self._entries[key]

    def keys(self):
        return self._entries.keys()

    def to_json(self) -> str:
        return json.dumps(self._entries, sort_keys=True)

    def __repr__(self) -> str:
        return f"FitCache({sorted(self._entries)})"


class Fit:
    """A law fitted by NUTS.

    Attributes
    ----------
    idata : arviz.InferenceData (posterior, sample_stats, log_likelihood, observed_data,
        optionally prior).
    record : :class:`~.record.FitRecord` -- what was fitted and how.
    diagnostics : :class:`~.diagnostics.Diagnostics` of the run.
    cache : :class:`FitCache` -- lazily computed states (model discrepancy, ...), saved too.
    """

    def __init__(self, idata, record: FitRecord, compute_model=None, cache=None, where=None):
        self.idata = idata
        self.record = record
        self.where = where or "this fit"  # what messages call it (a loaded fit: its file)
        self.diagnostics = Diagnostics(**record.diagnostics)
        self.cache = cache if isinstance(cache, FitCache) else FitCache(cache)
        self._compute_model = compute_model
        self._posterior = None
        self._law = None
        self._law_checked = False  # whether fit.law checked a redefined class's sites

    # ---- what was fitted -----------------------------------------------------------------------
    @property
    def law(self):
        """The fitted law, configured with the options it was fitted with."""
        if self._law is None:
            law, redefined = _fitted_law(self.record)
            if redefined:  # a parameter renamed since would fail at the first draw it reads
                _refuse_missing_parameters(self, law, self.where)
            self._law, self._law_checked = law, redefined
        return self._law

    @property
    def likelihood(self) -> str:
        return self.record.likelihood

    @property
    def priors(self) -> dict:
        return spec_to_priors(self.record.priors)

    @property
    def groups(self) -> list:
        return list(self.record.groups)

    @property
    def label(self) -> str:
        """The fit's label: the one it was given, else ``<law name>/<likelihood>``; the law's
        recorded reference (``record.law``, e.g. ``mylaws:MyLaw``) stands for its name when
        the law cannot be rebuilt in this process (a user law whose module is not importable
        here), so that a label and a repr never fail: what needs the law itself says why."""
        if self.record.label:
            return self.record.label
        return f"{self._law_name()}/{self.likelihood}"

    def _law_name(self) -> str:
        """The fitted law's ``name``, or its recorded reference when it cannot be rebuilt."""
        if self._law is not None:
            return self._law.name
        try:
            return self.law.name
        except Exception:  # cannot import / build the law here: fit.law raises it at its use
            return self.record.law

    @property
    def n_runs(self) -> int:
        return int(self.record.data["n_rows_used"])

    @property
    def compute_model(self) -> ComputeModel:
        if self._compute_model is not None:
            return self._compute_model
        saved = self.record.compute_model
        if saved is None:
            raise ValueError(
                f"this fit used a user compute model ({self.record.compute_model_name!r}) that "
                "was not saved, and C = f(N, D) is needed here (predictions, allocations, "
                "updates and the training runs all use it, whether given N and D or C): set "
                "fit.compute_model = bayeslaws.compute.custom(...) first"
            )
        return compute_model_from_dict(saved)

    @compute_model.setter
    def compute_model(self, model: ComputeModel) -> None:
        self._compute_model = model

    @property
    def units(self) -> dict:
        """The multiplier each column of the fitted runs was read with
        (:attr:`~bayeslaws.runs.RunTable.units`, e.g. ``{"batch_size": 2048.0}`` for batches
        given in sequences of 2048 tokens); {} when all were canonical or the fit predates the
        record."""
        recorded = (self.record.data or {}).get("units") or {}
        return {column: float(factor) for column, factor in recorded.items()}

    def training_runs(self) -> RunTable | None:
        """The fitted runs as a RunTable (canonical columns, C as fitted; indexed by their row
        labels in the user's table when the fit stored them; ``accepted_rows`` as the fit
        recorded them; ``simulated``: :attr:`simulated_extent`), or None. Only the runs in the
        fit: not those the law's own rules left out (``record.law_excluded_runs``), nor those
        excluded before it."""
        data = self.record.training_runs
        if not data:
            return None
        frame = pd.DataFrame(data)
        rows = frame.pop("row") if "row" in frame else None
        given = {c: c for c in ("N", "D") if c in frame}
        runs = load_runs(
            frame.drop(columns=["C"]),
            compute_model=self.compute_model,
            allow_missing_loss=True,
            accepted_rows=frame.index,  # checked when they were loaded; no second telling
            **given,
        )
        df = runs.df.copy()
        df["C"] = frame["C"].to_numpy(float)  # as fitted (e.g. Porian's budget column)
        # the fitted table's extent, units and source (its file, not "DataFrame"), as recorded
        source = (self.record.data or {}).get("source") or runs.source
        runs = replace(runs, simulated=self.simulated_extent, units=self.units, source=source)
        if rows is None:
            return replace(runs, df=df, accepted_rows=())
        df.index = pd.Index(rows.tolist())
        accepted = recorded_accepted(self.record.data, df.index)
        # what the labels count, as the fitted table said (fits saved before it: guessed)
        row_note = (self.record.data or {}).get("row_note")
        return replace(runs, df=df, accepted_rows=accepted, row_note=row_note)

    def posterior(self) -> Posterior:
        """The draws and facts the law's posterior methods read (built once per fit)."""
        if self._posterior is None:
            self._posterior = Posterior(
                draws=self.draws(),
                scales=Scales(self.record.scales),
                groups=tuple(self.record.groups),
                state=self.record.law_state,
                likelihood=self.likelihood,
                priors=self.priors,
            )
        return self._posterior

    @property
    def simulated_extent(self) -> str:
        """How much of the fitted data is SIMULATED: "all", "partly" or "none", as the run
        table recorded it when it was loaded (the record's ``data["simulated"]``, from the
        table's source column, never from a file name); for fits saved before that key, or
        whose data source was rewritten since, by the notes of the record's data source
        (:func:`bayeslaws.runs.provenance.recorded_extent`)."""
        return recorded_extent(self.record.data or {})

    @property
    def simulated_words(self) -> str:
        """" (SIMULATED data)", " (partly SIMULATED data)" or "" (:attr:`simulated_extent`):
        what a title or a repr of this fit adds."""
        words = {"all": " (SIMULATED data)", "partly": " (partly SIMULATED data)"}
        return words.get(self.simulated_extent, "")

    def __repr__(self) -> str:
        d = self.diagnostics
        n_groups = sum(g is not None for g in self.groups)  # [None]: fitted without groups
        groups = f" in {n_groups} group{'s' * (n_groups != 1)}" if n_groups else ""
        return (
            f"<Fit {self.label}{self.simulated_words}: {self.n_runs} runs{groups}, "
            f"{d.n_draws} draws, max R-hat "
            f"{d.r_hat_text}, min ESS {d.min_ess_bulk:.0f}, {d.divergences} divergences"
            f"{'' if d.ok else ' — see fit.diagnostics'}>"
        )

    # ---- draws and summaries -------------------------------------------------------------------
    def draws(self, var_names=None) -> dict:
        """Posterior draws with chains flattened: name -> array of shape (S, ...)."""
        post = self.idata.posterior
        names = _var_names(var_names, list(post.data_vars))
        out = {}
        for name in names:
            values = post[name].values
            out[name] = values.reshape((-1,) + values.shape[2:])
        return out

    def summary(self, ci: float = 0.9, var_names=None) -> pd.DataFrame:
        """One row per scalar parameter (a site with extra dimensions gives one row per index,
        labelled ``name[i,j]`` by its coordinates): mean, sd, lower/median/upper quantiles of the
        central ``ci`` interval (labelled e.g. 5%, 50%, 95%), r_hat, ess_bulk, ess_tail."""
        ci = check_probability("ci", ci)
        if var_names is not None:
            var_names = _var_names(var_names, list(self.idata.posterior.data_vars))
        names = var_names or self.record.summary_names
        names = [n for n in names if n in self.idata.posterior]
        lo, hi = (1 - ci) / 2, (1 + ci) / 2
        # ArviZ's own "Shape validation failed" log line on one chain is muted: the package's
        # diagnostics say "one chain" themselves
        r_hat, ess_bulk, ess_tail = rhat_ess(self.idata, names)
        rows = []
        for name in names:
            draws = self.idata.posterior[name].stack(sample=("chain", "draw"))
            extra = [d for d in draws.dims if d != "sample"]
            flat = draws.transpose(*extra, "sample").values.reshape(-1, draws.sizes["sample"])
            coords = itertools.product(*(draws[d].values for d in extra))
            labels = [f"{name}[{','.join(map(str, c))}]" if extra else name for c in coords]
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

    def update(self, new_runs, **options) -> Fit:
        """This fit refitted to its runs plus ``new_runs`` (the campaign loop: propose, train,
        update): warm-started from its posterior where the law can re-express that posterior on
        the updated table's reference scales (the loss-surface laws and ``hyperparams``:
        :meth:`~bayeslaws.laws.contract.Law.recentred`), otherwise a cold refit with the fit's
        own warm-up (``sweep``, ``hyperparams_two_stage``, ``isoflop``, whose scales move with
        almost every new run); the record's note says which. The runs the law's own rules left out
        (e.g. diverged runs, cells with no converged run) are put back, so the law decides
        again on the whole table; runs you or screening excluded stay out. Options:
        ``units`` (the units a DataFrame of new runs is given in, as ``load_runs`` takes them;
        required when the fit's runs were given in other units, :attr:`units`), ``warmup``,
        ``draws``, ``seed``, ``warn``, ``screen``, ``cold_above`` (R-hat above which a stuck
        refit, warm-started or not, is redone cold; None: never) — see
        :func:`bayeslaws.inference.update.update_fit`."""
        from .. import inference  # the package facade: update.py itself imports this module

        return inference.update_fit(self, new_runs, **options)

    def law_table(self, **options) -> pd.DataFrame:
        """The fitted law in its papers' notation, with intervals (laws that define one). Its
        coefficients assume the units in ``table.attrs["units"]`` (the hyperparameter laws: N
        and T in billions unless ``units=`` says otherwise, as Yin et al. write them: N = 0.5
        for 5e8 parameters)."""
        options.setdefault("compute_model", self._compute_model or _saved_model(self))
        return self.law.law_table(self.posterior(), **options)

    # ---- persistence ---------------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write the fit to a netCDF file that :func:`load_fit` reads back (atomically: a
        temporary file in the same folder, then renamed over the target); returns ``path``
        (``~`` expanded). A path that is a symbolic link keeps the link: the file it points to
        is replaced (the temporary file is written beside it). An existing file is replaced
        only when it is a saved fit or is named ``*.nc``; any other raises FileExistsError
        (:func:`refuse_non_fit`). Temporary files of this name left by a killed save
        (``.NAME.*.tmp``, once stale: :func:`~.exported.remove_stale`) are removed. Warns
        (:class:`UnportableLawWarning`) when the fit's law is of a class that another process
        cannot import (defined in a script, a notebook or a function), and (UserWarning) when
        its compute model is a user callable, which is not saved
        (:func:`_warn_if_compute_model_unsaved`)."""
        given = expand_user(path)
        path = check_output_path(link_target(given))
        refuse_non_fit(path)
        remove_stale_temporaries(path)
        _warn_if_law_unportable(self.record.law, path)
        _warn_if_compute_model_unsaved(self.record, path)
        idata = self.idata.copy()
        record_json, cache_json = self.record.to_json(), self.cache.to_json()
        attrs = idata.posterior.attrs
        attrs[RECORD_ATTR] = record_json
        attrs[CACHE_ATTR] = cache_json
        attrs[CHECKSUM_ATTR] = checksum(record_json, cache_json, idata)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(handle)
        try:
            idata.to_netcdf(tmp, engine="h5netcdf")
            # mkstemp creates the file 0600; a saved fit gets the permissions of any new file
            os.chmod(tmp, 0o666 & ~current_umask())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return given


def expand_user(path) -> Path:
    """``path`` as a Path with a leading ``~`` or ``~user`` expanded (Python does not expand it,
    nor does a shell after ``--out=``); left as given when no home folder is known."""
    if not isinstance(path, str | os.PathLike):
        raise ArgumentTypeError(f"path must be a file path, got {type(path).__name__}")
    try:
        return Path(path).expanduser()
    except RuntimeError:  # "~" or "~user" with no known home folder: the checks say so
        return Path(path)


def link_target(path: Path) -> Path:
    """The file a symbolic link ``path`` points to (followed to its end, absolute), so that a
    save replaces that file and keeps the link; ``path`` itself when it is not a link."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def remove_stale_temporaries(path: Path) -> None:
    """Remove the temporary files of saves to ``path`` (``.NAME.<random>.tmp`` in its folder)
    left by a save that was killed (SIGTERM, SIGKILL, a crash), once stale
    (:func:`~.exported.remove_stale`: a younger one may be another process's save)."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[^.]+\.tmp")
    try:
        entries = [path.parent / e.name for e in os.scandir(path.parent)]
    except OSError:
        return
    remove_stale(p for p in entries if pattern.fullmatch(p.name))


def recorded_accepted(data: dict | None, index: pd.Index) -> tuple:
    """The labels of ``index`` that a fit's run provenance (``record.data``) lists as accepted
    rows (it holds them as text)."""
    named = {str(r) for r in (data or {}).get("accepted_rows", [])}
    return tuple(r for r in index if str(r) in named)


def _var_names(var_names, available: list) -> list:
    """``var_names`` checked against the posterior's sites (all of them when None)."""
    if var_names is None:
        return available
    if isinstance(var_names, str):
        var_names = [var_names]
    if not isinstance(var_names, list | tuple) or not var_names:
        raise ArgumentTypeError(
            f"var_names must be a non-empty list of site names, got {var_names!r}"
        )
    unknown = [n for n in var_names if n not in available]
    if unknown:
        raise ValueError(f"var_names {unknown} are not in the posterior; its sites: {available}")
    return list(var_names)


def _saved_model(fit: Fit):
    try:
        return fit.compute_model
    except ValueError:
        return None


def check_output_path(path) -> Path:
    """A writable output file path (its folder must exist): checked before any long work.
    A leading ``~`` is taken as written (:meth:`Fit.save` expands it first; the message of a
    missing folder ``~...`` says it was not expanded)."""
    if not isinstance(path, str | os.PathLike):
        raise ArgumentTypeError(f"path must be a file path, got {type(path).__name__}")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a folder; give a file name such as fit.nc")
    if not path.parent.is_dir():
        raise missing_folder(path)
    if not os.access(path.parent, os.W_OK):
        raise PermissionError(f"the folder {str(path.parent)!r} is not writable")
    return path


def missing_folder(path: Path) -> OSError:
    """The error for an output ``path`` whose folder is not one: NotADirectoryError naming
    the file that stands where a folder should (``afile/fit.nc``), else FileNotFoundError
    (saying that a leading ``~`` was not expanded, when the path starts with one)."""
    folder = path.parent
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        return NotADirectoryError(
            f"{str(existing)!r} in {str(path)!r} is a file, not a folder: give a path in an "
            "existing folder"
        )
    tilde = (
        " ('~' was not expanded: write the home folder's path in full; a shell expands '~' "
        "only at the start of a word, as in --out ~/fits/fit.nc, not in --out=~/fits/fit.nc)"
        if str(path).startswith("~")
        else ""
    )
    return FileNotFoundError(f"the folder {str(folder)!r} for {str(path)!r} does not exist{tilde}")


NETCDF_MAGIC = (b"\x89HDF\r\n\x1a\n", b"CDF")  # netCDF-4 (HDF5), classic netCDF


def refuse_non_fit(path: Path) -> None:
    """Raise FileExistsError when ``path`` exists and is not a saved fit, so that a run table
    (``fit.save("runs.csv")``), a user's HDF5 data (``fit.save("mydata.h5")``: every netCDF-4
    file is HDF5, so its first bytes do not tell) or any other file is never overwritten. A
    saved fit (its record in the posterior group: :func:`saved_fit_summary`) may be
    overwritten whatever its name, and so may a file named ``*.nc`` whatever it holds (a fit
    file cut short, e.g. by a full disk: the name says it is a fit's place)."""
    if not path.exists() or path.suffix.lower() == ".nc":
        return
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as err:
        raise FileExistsError(
            f"{str(path)!r} exists and cannot be read to check that it is a saved fit "
            f"({err}); it was not overwritten: save the fit to another path"
        ) from None
    other = f"save the fit to another path, e.g. {str(path.with_suffix('.nc'))!r}"
    if not head.startswith(NETCDF_MAGIC):
        raise FileExistsError(
            f"{str(path)!r} exists and is not a saved fit (not a netCDF file), so it was not "
            f"overwritten: {other}"
        )
    if saved_fit_summary(path) is None:
        raise FileExistsError(
            f"{str(path)!r} exists and is not a saved fit (a netCDF/HDF5 file without a "
            f"bayeslaws fit record), so it was not overwritten: {other}"
        )


def saved_fit_summary(path: Path) -> str | None:
    """A few words on the fit saved at ``path`` ("245 runs, law 'chinchilla'"), from its record
    alone (its draws are not read), or None when ``path`` holds no readable fit (for a message
    that says what a new file replaces)."""
    import json

    try:
        import h5py  # h5netcdf's own dependency

        with h5py.File(path, "r") as handle:
            raw = handle["posterior"].attrs[RECORD_ATTR]
        record = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        runs = (record.get("data") or {}).get("n_rows_used", "?")
        return f"{runs} runs, law {record['law']!r}"
    except Exception:  # not a fit, cut short, or another format
        return None


def current_umask() -> int:
    """The process's file-creation mask (os.umask sets it, so it is set back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def checksum(record_json: str, cache_json: str, idata) -> str:
    """SHA-256 of the record, the cache and every array of every group of ``idata`` (data
    variables and coordinates: names, shapes and values), prefixed with :data:`CHECKSUM_SCHEME`.
    So an edit to any group a later stage reads (``log_likelihood`` for ``compare``,
    ``sample_stats`` for the diagnostics, group labels in the coordinates) fails the check."""
    h = hashlib.sha256()
    h.update(record_json.encode())
    h.update(cache_json.encode())
    for group in sorted(idata.groups()):
        data = idata[group]
        for name in sorted(data.data_vars) + sorted(data.coords):
            _hash_array(h, f"{group}/{name}", data[name].values)
    return CHECKSUM_SCHEME + h.hexdigest()


def _hash_array(h, name: str, values) -> None:
    """Feed one array to ``h``: text by value (its dtype changes on a netCDF round trip),
    numbers by dtype and bytes."""
    values = np.asarray(values)
    if values.dtype.kind in "OUS":
        h.update(f"{name}{values.shape}text".encode())
        h.update(json.dumps([str(v) for v in values.ravel().tolist()]).encode())
        return
    values = np.ascontiguousarray(values)
    h.update(f"{name}{values.shape}{values.dtype}".encode())
    h.update(values.tobytes())


def posterior_checksum(record_json: str, cache_json: str, posterior) -> str:
    """The checksum of files saved before :data:`CHECKSUM_SCHEME` (record, cache and the
    posterior's arrays only), so that they still load."""
    h = hashlib.sha256()
    h.update(record_json.encode())
    h.update(cache_json.encode())
    for name in sorted(posterior.data_vars):
        values = np.ascontiguousarray(posterior[name].values)
        h.update(f"{name}{values.shape}{values.dtype}".encode())
        h.update(values.tobytes())
    return h.hexdigest()


def load_fit(path) -> Fit:
    """Read a fit written by :meth:`Fit.save` from ``path`` (``~`` expanded); refuses other
    formats and edited or damaged files with :class:`~.record.IncompatibleFitFile`, and so a
    fit whose law, as this process has it, changed since so that its draws lack a parameter
    the law now samples (a parameter renamed, or a record naming another law:
    :func:`_refuse_missing_parameters`)."""
    path = expand_user(path)
    if not path.exists():
        raise FileNotFoundError(f"no fit file at {str(path)!r}")
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a folder, not a fit file")
    where = repr(str(path))
    idata, failure = read_netcdf(path)
    if failure is not None:
        raise IncompatibleFitFile(
            f"{where} is not a readable fit file (damaged, truncated or not netCDF: {failure})"
        )
    if "posterior" not in idata.groups():
        raise IncompatibleFitFile(
            f"{where} is a netCDF file but not a bayeslaws fit (it has no posterior group)"
        )
    posterior = idata.posterior
    attrs = dict(posterior.attrs)
    raw = attrs.get(RECORD_ATTR)
    if raw is None:
        raise IncompatibleFitFile(f"{where} is a netCDF file but not a bayeslaws fit")
    record = FitRecord.from_json(raw, where)
    cache_json = attrs.get(CACHE_ATTR, "{}")
    expected = attrs.get(CHECKSUM_ATTR)
    for key in (RECORD_ATTR, CACHE_ATTR, CHECKSUM_ATTR):
        posterior.attrs.pop(key, None)
    try:  # the arrays are read lazily: a damaged data chunk fails here, not when opened
        if str(expected).startswith(CHECKSUM_SCHEME):
            found = checksum(raw, cache_json, idata)
        else:  # saved before every group was covered
            found = posterior_checksum(raw, cache_json, posterior)
    except (OSError, ValueError, RuntimeError) as err:
        message = " ".join(str(err).split())
        raise IncompatibleFitFile(
            f"{where} is damaged: its data could not be read ({type(err).__name__}: {message}); "
            "refit or restore it"
        ) from None
    if expected != found:
        raise IncompatibleFitFile(
            f"{where} fails its checksum: it was edited or damaged after it was saved; refit or "
            "restore it"
        )
    fit = Fit(idata, record, cache=json.loads(cache_json), where=where)
    if _warn_if_law_changed(fit, where) and not fit._law_checked:  # else fit.law checked it
        _refuse_missing_parameters(fit, fit.law, where)
    _warn_if_sampler_trouble(fit, where)
    return fit


def read_netcdf(path: Path) -> tuple:
    """(the InferenceData in ``path``, None), or (None, why it cannot be read: "Type:
    message") for a damaged or foreign file. The objects a failed open left half-built are
    collected here, quietly (:func:`_half_built_files_quiet`)."""
    with _half_built_files_quiet():
        try:
            return arviz().from_netcdf(str(path), engine="h5netcdf"), None
        except Exception as err:  # h5py / xarray raise many types on a damaged or foreign file
            failure = f"{type(err).__name__}: {' '.join(str(err).split())}"
        gc.collect()  # the error and its frames are gone: the half-built files go now
    return None, failure


@contextlib.contextmanager
def _half_built_files_quiet():
    """Within the block, drop the error h5netcdf's ``File.close`` raises when a File whose
    opening failed part-way (a file cut short by a killed save) is collected: it lacks the
    attributes ``close`` reads, and Python would print "Exception ignored in: <function
    File.close ...> AttributeError: ... '_writable'" at some later collection (often at exit),
    after the one-line error. Any other unraisable error goes to the hook in place."""
    previous = sys.unraisablehook

    def hook(unraisable) -> None:
        if not _is_half_built_close(unraisable):
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous


def _is_half_built_close(unraisable) -> bool:
    """Whether an unraisable error is h5netcdf's ``File.close`` failing on a half-built File."""
    close = unraisable.object
    return (
        unraisable.exc_type is AttributeError
        and getattr(close, "__qualname__", None) == "File.close"
        and str(getattr(close, "__module__", "")).startswith("h5netcdf")
    )


def _warn_if_sampler_trouble(fit: Fit, where: str) -> None:
    """Say again, at load, what the fit's diagnostics found (:class:`~.diagnostics.
    SamplerWarning`): every answer read from the file inherits it."""
    problems = fit.diagnostics.problems
    if problems:
        warnings.warn(
            f"{where} holds a fit with sampler trouble (its answers inherit it; refit with more "
            f"draws or see fit.diagnostics): {'; '.join(problems)}",
            SamplerWarning,
            stacklevel=user_stacklevel(),
        )


class UnportableLawWarning(UserWarning):
    """A fit is saved with a law that another process cannot import."""


def _warn_if_law_unportable(ref: str, path: Path) -> None:
    """Warn when the law reference a fit records (``record.law``) names a class that only this
    process has (:func:`~bayeslaws.laws.unportable_reason`), saying how to make it loadable."""
    reason = unportable_reason(ref)
    if reason is None:
        return
    module, _, qualname = ref.partition(":")
    fix = (
        f"move the class to a module of its own (e.g. mylaws.py, then `from mylaws import "
        f"{qualname}`) and refit, or define the same class in every script or notebook that "
        "loads the file, before loading it"
        if module in MAIN_MODULES
        else "define the class at module level (in a module of its own) and refit"
    )
    warnings.warn(
        f"saving {str(path)!r}: the fit records its law as {ref!r}, and {reason}: "
        f"bl.load_fit elsewhere will fail to rebuild the law. To load it elsewhere, {fix}",
        UnportableLawWarning,
        stacklevel=user_stacklevel(),
    )


def _warn_if_compute_model_unsaved(record: FitRecord, path: Path) -> None:
    """Warn when the fit's compute model is a user callable (``record.compute_model`` None),
    which a saved file cannot hold: the loaded fit needs it set again before any answer that
    uses C = f(N, D)."""
    if record.compute_model is not None:
        return
    warnings.warn(
        f"saving {str(path)!r}: the fit's compute model {record.compute_model_name!r} is a "
        "user callable, not saved. After bl.load_fit, set fit.compute_model = "
        "bayeslaws.compute.custom(...) (the same function) before predicting, allocating or "
        "updating",
        UserWarning,
        stacklevel=user_stacklevel(),
    )


class LawChangedWarning(UserWarning):
    """A fit was made with other code of its law than this process has (a loaded fit, or a
    class redefined or changed in place since the fit)."""


def _warn_if_law_changed(fit: Fit, where: str) -> bool:
    """Warn when the files defining the fit's law differ from those it was fitted with (its
    record's ``extra["law_source"]``): predictions then use the current code with parameters
    drawn under the old. Silent for fits that recorded no digest or whose law cannot be
    resolved here (an error at first use says so). Returns whether it warned (the law, then
    resolved as ``fit.law``, is not the code the fit was made with)."""
    from . import exported

    saved = (fit.record.extra or {}).get("law_source")
    if not saved:
        return False
    try:
        law, class_changed = _law_and_its_warning(fit)
        current = exported.law_source_digest(law)
    except IncompatibleFitFile:  # the class changed and lacks sites the draws hold: refused
        raise
    except Exception:  # the law's module is not importable here: its first use will say so
        return False
    if current is None or current == saved:
        if class_changed is not None:  # the class differs though its files do not
            warnings.warn(class_changed.message, LawChangedWarning, stacklevel=user_stacklevel())
        return class_changed is not None
    warnings.warn(  # one warning: the class's own would say the same again
        f"{where} was fitted with other code of law {fit.record.law!r} than this process "
        f"has (bayeslaws {fit.record.bayeslaws_version or '?'} then; the files defining the "
        "law changed since): its predictions use the current code with parameters drawn "
        "under the old; refit to be sure",
        LawChangedWarning,
        stacklevel=user_stacklevel(),
    )
    return True


def _refuse_missing_parameters(fit: Fit, law, where: str) -> None:
    """Raise :class:`~.record.IncompatibleFitFile` when ``law``, the fit's law as this process
    has it (changed since the fit: :func:`_warn_if_law_changed`, :func:`_fitted_law`), samples
    or records parameters (names of its :meth:`~bayeslaws.laws.contract.Law.default_priors`
    among the sites of its model run on the fit's training runs) that the stored draws lack:
    a parameter renamed in the law's code, or a record naming another law than the draws were
    made with. Its first prediction would fail on the missing name. A changed law whose
    parameters the draws all hold loads (with the warning); so does one whose model cannot be
    run here on the stored runs (its first use says what fails)."""
    sites = _model_sites(fit, law)
    if sites is None:
        return
    post = fit.idata.posterior
    missing = [name for name in law.default_priors() if name in sites and name not in post]
    if not missing:
        return
    label = f" (label {fit.record.label!r})" if fit.record.label else ""
    raise IncompatibleFitFile(
        f"{where} cannot be read by law {fit.record.law!r}{label} as this process has it "
        f"(class {type(law).__qualname__}, name {law.name!r}): its stored draws lack the "
        f"law's parameter site(s) {missing} (they hold {sorted(post.data_vars)}). The law's "
        "code changed since the fit (e.g. a parameter renamed), or the fit's record names "
        "another law than the draws were made with. Refit, or restore the law's code the fit "
        "was made with"
    )


def model_trace(model, data: dict) -> dict:
    """The NumPyro trace (site name -> site) of ``model`` run once on ``data`` (keyword
    arrays), seeded with PRNGKey(0): which sites it samples or records, without sampling."""
    seeded = numpyro.handlers.seed(model, jax.random.PRNGKey(0))
    return numpyro.handlers.trace(seeded).get_trace(**data)


def _model_sites(fit: Fit, law) -> set | None:
    """Names of the latent sample and deterministic sites of ``law``'s model run once (seeded,
    default priors with the fit's where the law has them) on the fit's stored training runs;
    None when that cannot be done here (no stored runs, a law that no longer prepares them or
    whose model fails on them)."""
    if not fit.record.training_runs:
        return None
    try:
        with warnings.catch_warnings():  # the law's notes on the runs were told at the fit
            warnings.simplefilter("ignore")
            prepared = law.prepare(fit.training_runs())
            priors = law.priors(fit.likelihood)
            priors.update({k: v for k, v in fit.priors.items() if k in priors})
            static = {**prepared.static, "priors": priors, "likelihood": fit.likelihood}
            trace = model_trace(functools.partial(law.model, **static), prepared.data)
    except Exception:  # the changed law cannot run on the stored runs: its first use says so
        return None
    groups = fit.idata.groups()
    observed = set(fit.idata.observed_data.data_vars) if "observed_data" in groups else set()
    return {
        name
        for name, site in trace.items()
        if name not in observed
        and (
            site["type"] == "deterministic"
            or (site["type"] == "sample" and not site.get("is_observed", False))
        )
    }


def _law_and_its_warning(fit: Fit) -> tuple:
    """``fit.law`` and the LawChangedWarning its resolution raised (None when it did not), held
    back so that a load says a changed law once; any other warning is passed on as it came."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        law = fit.law
    changed = None
    for w in caught:
        if issubclass(w.category, LawChangedWarning):
            changed = w
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return law, changed


def _fitted_law(record):
    """The law a record names, checked to be the class it was fitted with (``extra["law_code"]``,
    its code digest): a class redefined under the same name (a notebook cell run again) or
    another registered law whose class has the same import path (classes made by one factory
    function) is not silently used; a registered law of that path with the fitted code is.
    Returns (law, whether it is another class than the fit was made with, with a warning)."""
    law = resolve_law(record.law, record.law_options)
    fitted_code = (record.extra or {}).get("law_code")
    if not fitted_code or code_digest(type(law)) == fitted_code:
        return law, False
    for other in LAWS.values():
        if class_ref(type(other)) == record.law and code_digest(type(other)) == fitted_code:
            return (other.configure(**record.law_options) if record.law_options else other), False
    label = f" (label {record.label!r})" if record.label else ""
    warnings.warn(
        f"the fit of law {record.law!r}{label} was made with another class than the one now at "
        "that path (its code, class attributes or the module constants it reads differ: the "
        "class was redefined, e.g. by a notebook cell run again, or changed in place since the "
        "fit): its predictions use the current class with parameters drawn under the old. "
        "Refit with the current class, or restore the class the fit was made with",
        LawChangedWarning,
        stacklevel=user_stacklevel(),
    )
    return law, True
