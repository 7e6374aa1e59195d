"""The two benchmark scripts write a first line saying their
tables are SIMULATED, and the committed outputs carry the hand-added label line. The fits are
faked (no sampling): only the written lines are checked."""

import importlib.util
import types
from pathlib import Path

import numpy as np

import bayeslaws as bl
import bayeslaws.posterior.allocation as allocation

TREE = Path(__file__).resolve().parents[1]  # the checkout
FAKE = types.SimpleNamespace(
    diagnostics=types.SimpleNamespace(divergences=0, max_r_hat=1.0, min_ess_bulk=1000.0)
)


def load(name):
    spec = importlib.util.spec_from_file_location(name, TREE / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sweep_target_accept_writes_a_simulated_label_under_its_provenance(tmp_path, monkeypatch):
    script = load("sweep_target_accept")
    monkeypatch.setattr(bl, "fit", lambda *a, **k: FAKE)
    monkeypatch.setattr(bl, "load_runs", lambda x: x)
    monkeypatch.setattr(script.sim, "simulate_video_dit_sweep", lambda seed: seed)
    out = tmp_path / "out.txt"
    script.main(["--out", str(out)])
    head, label = out.read_text().splitlines()[:2]  # the provenance line, then the label
    assert head.startswith("# python benchmarks/") and "; commit " in head, head
    assert label.startswith("# SIMULATED") and "4000-4004" in label, label


def test_yin_part3_writes_a_simulated_label_under_its_provenance(tmp_path, monkeypatch):
    script = load("yin_part3_posterior")
    monkeypatch.setattr(bl, "fit", lambda *a, **k: FAKE)
    monkeypatch.setattr(allocation, "allocation_draws", lambda fit, C: {"N_opt": np.ones((4, 1))})
    out = tmp_path / "out.txt"
    script.main(["--tree", str(TREE), "--out", str(out)])
    head, label = out.read_text().splitlines()[:2]  # the provenance line, then the label
    assert head.startswith("# python benchmarks/") and "; commit " in head, head
    assert label.startswith("# SIMULATED") and "seeds 7 and 8" in label, label


def test_committed_outputs_are_labelled_simulated():
    for name in ("sweep_target_accept.txt", "yin_part3_main.txt", "yin_part3_e180f87.txt"):
        first = (TREE / "benchmarks" / "output" / name).read_text().splitlines()[0]
        assert first.startswith("# SIMULATED data (") and "added by hand on 2026-12-06" in first
