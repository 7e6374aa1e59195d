"""The bowl and noise constants of the simulated video-DiT sweep, measured on the paper's grid.

Least squares of the simulator's bowl (:class:`bayeslaws.runs.simulate.VideoDiTTruth`) on Yin et
al.'s typed 1.07B grid (``data/yin2025_grid_1p07B.csv``; 36 cells, one loss offset per token
budget, the LR asymmetry fixed at the truth's), the axis-aligned bowl's residual, a fit with a
free LR asymmetry, and the rms of the grid's second differences along LR (independent noise of sd
s gives second differences of rms sqrt(6) s). The numbers quoted in ``VideoDiTTruth``'s docstring
and ``data/README.md`` come from this script's output,
``benchmarks/output/yin_grid_bowl.txt``. Real (typed) data; no simulation.

    python benchmarks/yin_grid_bowl.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "data"))

import make_datasets  # noqa: E402

from bayeslaws.runs.simulate import VideoDiTTruth  # noqa: E402

OUT = ROOT / "benchmarks" / "output" / "yin_grid_bowl.txt"


def rms(x) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def lines() -> list[str]:
    truth = VideoDiTTruth()
    grid = make_datasets.yin_grid_1p07b()
    columns = ("N", "D", "lr", "batch_size", "loss")
    N, D, lr, batch, loss = (grid[c].to_numpy(float) for c in columns)
    u = np.log(lr / truth.eta_opt(N, D))
    v = np.log(batch / truth.b_opt(N, D))
    offsets = np.column_stack([(D == d).astype(float) for d in np.unique(D)])
    u2 = np.where(u > 0, 1 + truth.lr_asymmetry, 1.0) * u**2
    X = np.column_stack([offsets, u2, v**2, u * v])
    coef, *_ = np.linalg.lstsq(X, loss, rcond=None)
    resid = rms(loss - X @ coef)
    k = coef[offsets.shape[1] :]
    Xa = np.column_stack([offsets, u2, v**2])
    axis = rms(loss - Xa @ np.linalg.lstsq(Xa, loss, rcond=None)[0])
    below, above = np.where(u <= 0, u**2, 0), np.where(u > 0, u**2, 0)
    Xf = np.column_stack([offsets, below, above, v**2, u * v])
    cf = np.linalg.lstsq(Xf, loss, rcond=None)[0][offsets.shape[1] :]
    second = np.concatenate(
        [
            np.diff(np.asarray(row, float), 2)
            for table in make_datasets.GRID_LOSS.values()
            for row in table
        ]
    )
    return [
        f"Yin et al.'s 1.07B grid (real, typed): {len(loss)} cells, u = ln(lr/eta_opt) in "
        f"[{u.min():.2f}, {u.max():.2f}]",
        f"least squares, asymmetry {truth.lr_asymmetry} fixed: k_lr {k[0]:.6f} k_batch {k[1]:.6f} "
        f"k_cross {k[2]:.6f}; residual rms {resid:.6f} "
        f"({resid / loss.mean():.3%} of the mean loss)",
        f"axis-aligned bowl (no cross term): residual rms {axis:.6f}",
        f"free LR asymmetry: k_lr below {cf[0]:.6f}, above {cf[1]:.6f}",
        f"second differences along LR: {second.size}, rms {rms(second):.6f}; "
        f"implied noise sd rms/sqrt(6) {rms(second) / np.sqrt(6):.6f}",
        f"truth's constants: k_lr {truth.k_lr} k_batch {truth.k_batch} k_cross {truth.k_cross} "
        f"noise_sd {truth.noise_sd} "
        f"(relative; {truth.noise_sd * loss.mean():.6f} at the mean loss)",
    ]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="output file (default: %(default)s)")
    args = parser.parse_args(argv)
    text = "\n".join(lines()) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
