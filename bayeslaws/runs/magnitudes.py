"""Plausible magnitudes of a run table's canonical columns, in canonical units (N parameters,
D tokens, C FLOPs, lr, batch_size tokens, loss nats per token): the plausibility checks warn
outside them, and the units hints look for the multiplier that brings a column inside them."""

from __future__ import annotations

# Plausible magnitudes: outside them a column is most likely in other units (see
# :func:`.plausible.check_plausible`); below the hard minima a value is impossible.
PLAUSIBLE = {
    "N": (1e4, 1e14),  # parameters
    "D": (1e5, 1e16),  # tokens
    "C": (1e10, 1e30),  # FLOPs
}
QUANTITY = {"N": "parameters", "D": "tokens", "C": "FLOPs"}  # what N, D, C count
IMPOSSIBLE_BELOW = {"N": 1.0, "D": 1.0}  # fewer than one parameter / token
TOKENS_PER_PARAM = (1e-2, 1e5)  # plausible range of D / N
BATCH_TOKENS_LOW = 1e3  # a median batch below this many tokens is likely in sequences
# a median peak learning rate above this is likely a log of it (-log10 lr: 3-4 on a typical
# sweep); the bundled and shared sweeps' medians are 2.1e-4 to 2.8e-3 (max 0.022)
LR_HIGH = 1.0
TYPICAL_TOKENS_PER_PARAM = 20.0  # Chinchilla's compute-optimal D / N: ranks units hints
LOSS_MAX = 20.0  # nats (or bits) per token: above this the column is likely a perplexity
# a median loss above this many nats per token is unusual for language models (the shared and
# bundled tables' medians are 0.52 to 4.1): a perplexity of 8 to 45, or a loss in bits?
LOSS_HIGH = 6.0
LOSS_OUTLIER_FACTOR = 3.0  # a loss above this multiple of the table's median looks diverged
