"""Published constants, in one place (``../shared/reference/PAPERS.md`` has the sources).

Units are in every name or comment: N in parameters, D / T in tokens, C in FLOPs, batch sizes in
tokens, losses in each paper's own loss units. Nothing here is computed by bayeslaws: these are
the numbers our posteriors are compared against.
"""

from __future__ import annotations

import numpy as np

# ---- Yin et al. 2025, "Towards Precise Scaling Laws for Video Diffusion Transformers" --------
# Hyperparameter laws with N and T in BILLIONS (1e9 params, 1e9 tokens), B in tokens:
#   B_opt = 2.18e4 T^0.81 N^0.19,  eta_opt = 2e-4 T^-0.045 N^-0.162.
# The billions unit is inferred from the paper's marked optima on its 1.07B grid.
YIN_UNIT = 1e9
YIN_B_COEF = 2.18e4  # tokens
YIN_B_EXP_T = 0.81
YIN_B_EXP_N = 0.19
YIN_ETA_COEF = 2.0e-4
YIN_ETA_EXP_T = -0.045
YIN_ETA_EXP_N = -0.162

# Compute-optimal size N_opt = k C^a (N params, C FLOPs). The earlier-version law matches the
# paper's figure annotations (0.72B at 5.85e20 FLOPs, 2.43e9 at 1e22); the later one is kept
# for reference.
YIN_NOPT_COEF = 0.8705
YIN_NOPT_EXP = 0.4294
YIN_NOPT_COEF_LATER = 1.5787
YIN_NOPT_EXP_LATER = 0.4146

# Predicted losses the paper annotates (Yin et al.'s L*(N, T) under optimal hyperparameters).
YIN_ANCHOR_L_1P07B_10B = 0.51266  # L*(1.07e9 params, 1e10 tokens)
YIN_ANCHOR_L_1P07B_4B = 0.5185  # L*(1.07e9 params, 4e9 tokens)
YIN_ANCHOR_L_0P72B_C = 0.50352  # L*(0.72e9 params, C = 5.85e20 FLOPs)
YIN_ANCHOR_C_0P72B = 5.85e20

# Headline: at 1e22 FLOPs, N_opt with optimal hyperparameters vs with fixed ones (params).
YIN_BUDGET = 1e22
YIN_N_OPT_AT_BUDGET = 2.43e9
YIN_N_OPT_FIXED_HP_AT_BUDGET = 4.04e9
# At the Movie Gen budget (6144 H100s; FLOPs not stated): the same comparison (params).
YIN_N_MOVIE_GEN = 18.05e9
YIN_N_MOVIE_GEN_FIXED_HP = 30.05e9
YIN_ANCHOR_N_0P72B = 0.72e9  # params: the earlier N_opt law's check at YIN_ANCHOR_C_0P72B

# The 1.07B validation grid (its losses are the bundled data/yin2025_grid_1p07B.csv): constant
# learning rates, batch sizes (tokens), and the cells the paper marks as its predicted optima,
# tokens -> (batch size in tokens, lr).
YIN_GRID_N = 1.07e9
YIN_GRID_LR = (7.5e-5, 1.1e-4, 1.7e-4, 2.5e-4, 3.8e-4, 5.7e-4)
YIN_GRID_BATCH = (8.2e4, 1.6e5, 3.3e5)
YIN_GRID_MARKED = {4e9: (8.2e4, 1.7e-4), 1e10: (1.6e5, 1.7e-4)}


def yin_b_opt(N_params, D_tokens):
    """Yin et al.'s optimal batch size in tokens; N in parameters, D in tokens (broadcast)."""
    n = np.asarray(N_params, float) / YIN_UNIT
    t = np.asarray(D_tokens, float) / YIN_UNIT
    return YIN_B_COEF * t**YIN_B_EXP_T * n**YIN_B_EXP_N


def yin_eta_opt(N_params, D_tokens):
    """Yin et al.'s optimal constant learning rate; N in parameters, D in tokens (broadcast)."""
    n = np.asarray(N_params, float) / YIN_UNIT
    t = np.asarray(D_tokens, float) / YIN_UNIT
    return YIN_ETA_COEF * t**YIN_ETA_EXP_T * n**YIN_ETA_EXP_N


def yin_n_opt_laws() -> dict:
    """Yin et al.'s published N_opt = k C^a laws (both circulating versions): label -> (k, a)."""
    return {
        "Yin et al. 2025 (earlier)": (YIN_NOPT_COEF, YIN_NOPT_EXP),
        "Yin et al. 2025 (later)": (YIN_NOPT_COEF_LATER, YIN_NOPT_EXP_LATER),
    }


# ---- Liang et al., "Scaling Laws for Diffusion Transformers" -----------------------------------
LIANG_NOPT_EXP = 0.5681
LIANG_NOPT_CHECK = (1.5e21, 958.3e6)  # the paper's extrapolation: 958.3M params at 1.5e21 FLOPs
# Unrounded coefficient implied by the check (the paper prints 0.0009): ~8.94e-4.
LIANG_NOPT_COEF = LIANG_NOPT_CHECK[1] / LIANG_NOPT_CHECK[0] ** LIANG_NOPT_EXP
LIANG_NOPT_COEF_PRINTED = 0.0009
LIANG_DOPT = (186.8535, 0.4319)  # D_opt = k C^a (tokens)
LIANG_LOPT_COEF = 2.3943
LIANG_LOPT_EXP = -0.0273
LIANG_BUDGETS = (1e17, 3e17, 6e17, 1e18, 3e18, 6e18)  # FLOPs: the isoFLOP profiles' budgets

# ---- Epoch AI's Chinchilla refit (Besiroglu et al. 2024) -------------------------------------
# L = E + A/N^alpha + B/D^beta on 240 points (5 highest losses dropped), Huber on log loss;
# value and 95% bootstrap interval.
EPOCH_CHINCHILLA = {
    "E": (1.817, 1.769, 1.871),
    "A": (482.0, 285.2, 743.6),
    "B": (2085.4, 1042.4, 5810.3),
    "alpha": (0.348, 0.317, 0.373),
    "beta": (0.366, 0.331, 0.415),
}
EPOCH_A_OPT = (0.513, 0.020)  # a = beta / (alpha + beta) and its standard error
# Hoffmann et al. 2022 (arXiv:2203.15556): Chinchilla, 70B parameters on 1.4T tokens, was trained
# with Gopher's compute budget, 5.76e23 FLOPs (not in PAPERS.md)
CHINCHILLA_BUDGET = 5.76e23  # FLOPs: Chinchilla's training budget
CHINCHILLA_N = 70e9  # params: Chinchilla's size at that budget

# ---- Step Law (Li et al. 2025, "Predictable Scale: Part I") -----------------------------------
# eta_opt = 1.79 N^-0.713 D^0.307, B_opt = 0.58 D^0.571 (B in tokens, N non-embedding params);
# (coefficient, exponent of N, exponent of D), with the authors' 95% bootstrap intervals.
STEPLAW = {"lr": (1.79, -0.713, 0.307), "batch_size": (0.58, 0.0, 0.571)}
# the axes each published law has (hyperparameter -> axes): the batch law has no N term, so
# STEPLAW's 0.0 for it is a structural zero, not an estimate
STEPLAW_FORM = {"lr": ("N", "D"), "batch_size": ("D",)}
STEPLAW_INTERVALS = {
    ("lr", "N"): (-0.774, -0.655),
    ("lr", "D"): (0.271, 0.345),
    ("batch_size", "D"): (0.534, 0.606),
}
STEPLAW_SELECTION_TOLERANCE = 0.0025  # runs within 0.25% of the cell's best are "optimal"
