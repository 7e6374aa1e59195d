"""Run counts padded to size buckets, so that fits of one law to tables of different sizes
share one compiled sampler.

A design loop or a campaign refits after every batch of runs. With the run count in the data's
shape, every refit traced and compiled the sampler again (5-7 s on a 400-run pool). A law that
sets ``pads_runs`` (every data array per run, observations along the last axis) has its arrays
padded to the next size of the ladder 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, ... (four sizes per
doubling: at most 25% more rows, about 12% on average) by repeating its last run, and the
padded runs' observations masked out of the log density (:class:`MaskSite`): the posterior is
the table's own. Outputs along the run axis are cut back to the table's runs (:func:`cut`).

Units: run counts; arrays as the law's ``prepare`` makes them.
"""

from __future__ import annotations

import functools

import numpy as np
from numpyro.primitives import Messenger

MIN_BUCKET = 8
STEPS_PER_DOUBLING = 4  # sizes per doubling of the run count (a power of two)


def bucket(n_runs: int) -> int:
    """The padded size of a table of ``n_runs`` runs: the smallest of 8, 10, 12, 14, 16, 20,
    24, 28, 32, 40, ... (k * 2^j, k from ``STEPS_PER_DOUBLING`` to twice it, less 1) that holds
    them."""
    if n_runs <= MIN_BUCKET:
        return MIN_BUCKET
    doubling = 2 ** int(np.floor(np.log2(n_runs)))  # the doubling [2^j, 2^(j+1)) it lies in
    step = doubling // STEPS_PER_DOUBLING
    return int(-(-n_runs // step) * step)


class MaskSite(Messenger):
    """Mask the log density of one sample site (runs padded in, or held out of a fold)."""

    def __init__(self, site: str, mask):
        self.site = site
        self.mask = mask
        super().__init__(None)

    def process_message(self, msg):
        if msg["name"] == self.site:
            msg["fn"] = msg["fn"].mask(self.mask)


def masked_model(mask, *, law, static: dict, **data):
    """The law's model with the observations where ``mask`` is False left out."""
    with MaskSite(law.observed_site, mask):
        law.model(**static, **data)


def sampler_model(law, static: dict):
    """The model NUTS samples for ``law`` with ``static`` arguments: the law's own, or
    :func:`masked_model` (taking ``mask``) when the law pads runs."""
    if law.pads_runs:
        return functools.partial(masked_model, law=law, static=static)
    return functools.partial(law.model, **static)


def n_runs(data: dict) -> int:
    """The table's run count: the length of the observations' last axis."""
    return int(np.shape(data["obs"])[-1])


def pad(law, data: dict) -> dict:
    """The model's data padded to :func:`bucket` runs (each per-run array's last run repeated;
    scalars and reference scales kept) with ``mask`` (bucket,) True for the table's own runs;
    the data as they are when the law does not pad."""
    if not law.pads_runs:
        return data
    n = n_runs(data)
    size = bucket(n)
    out = {}
    for name, value in data.items():
        if not hasattr(value, "shape") or np.ndim(value) == 0:  # scalars, reference scales
            out[name] = value
            continue
        if np.shape(value)[0] != n:
            raise ValueError(
                f"law {law.name!r} says it pads runs, but its data array {name!r} has shape "
                f"{np.shape(value)}, not ({n}, ...)"
            )
        array = np.asarray(value)
        out[name] = np.concatenate([array, np.repeat(array[-1:], size - n, axis=0)])
    out["mask"] = np.arange(size) < n
    return out


def cut(array, n: int):
    """``array`` with its last (run) axis cut back to the table's ``n`` runs."""
    return array[..., :n]


__all__ = ["MaskSite", "bucket", "cut", "masked_model", "n_runs", "pad", "sampler_model"]
