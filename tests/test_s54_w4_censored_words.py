"""The censoring note of the sweep laws says one bound: the loss a diverged run is censored at
(the law's divergence_threshold, else the highest converged loss), named as such. Before it read
"censored (loss >= 0.5561): 2 with loss > 3x the median loss (1.608)": two thresholds in one
sentence, the first reading as the rule that picked the runs. SIMULATED sweep, prepared only."""

from __future__ import annotations

import warnings

import bayeslaws as bl
from bayeslaws.laws.hyperparams.law import HyperparamsLaw
from bayeslaws.runs import simulate as sim


def prepared_note(law):
    """(The note of ``law`` prepared on a SIMULATED sweep with two runs at a loss of 5 (above
    3x the median loss: diverged), the bound they are censored at)."""
    df = sim.simulate_video_dit_sweep(seed=5, sizes=(0.017e9, 0.057e9, 0.13e9), tokens=(2e9, 4e9))
    df.loc[[30, 31], "loss"] = 5.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = law.prepare(bl.load_runs(df))
    return prepared.notes[0], prepared.state["divergence"]["censored_at_loss"]


def test_without_a_threshold_the_bound_is_the_highest_converged_loss():
    note, bound = prepared_note(HyperparamsLaw())
    head, reasons = note.split(": ", 1)
    assert head == (
        f"2 diverged runs censored at loss {bound:.4g}, the highest converged loss (fitted as a "
        "loss of at least that)"
    )
    assert "loss >=" not in note and reasons.startswith("2 with loss > 3x the median loss")


def test_with_a_threshold_the_bound_is_the_threshold():
    note, bound = prepared_note(HyperparamsLaw(divergence_threshold=2.0))
    assert bound == 2.0
    assert note.startswith("2 diverged runs censored at loss 2, the law's divergence_threshold")


def test_with_far_above_the_bound_is_the_smaller_of_the_two():
    note, bound = prepared_note(HyperparamsLaw(far_above=0.03))
    assert note.startswith(
        f"2 diverged runs censored at the smaller of loss {bound:.4g} (the highest converged "
        "loss) and 1.03x its cell's best (fitted as a loss of at least that)"
    )
