"""Second review of ``bayeslaws report`` (fit_report): a table drawn with ``--runs`` is named in
the preamble with its SIMULATED note and its exclusions, and a fan drawing simulated runs beside a
fit to other data says so; the text names each figure by its path beside the report and the
command prints the figure folder (saying which earlier figures it replaced, refusing any other
file); a target at which the law gives no value of a quantity (NaN) is said, with the law's
remedy."""

from __future__ import annotations

import copy
import dataclasses
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from bayeslaws import plot  # noqa: E402
from bayeslaws.app.cli import main  # noqa: E402
from bayeslaws.app.report import fit_report  # noqa: E402


def _relabelled(fit, source: str):
    """The same fit, its record's data source replaced by ``source``."""
    out = copy.copy(fit)
    out.record = dataclasses.replace(fit.record, data={**fit.record.data, "source": source})
    return out


def _record_saves(monkeypatch) -> dict:
    """Replace plot.save by one that records each figure's titles by file name."""
    seen = {}
    real = plot.save

    def record(fig, path, **kwargs):
        texts = [fig._suptitle.get_text() if fig._suptitle else ""]
        texts += [ax.get_title() for ax in fig.axes]
        seen[Path(path).name] = " ".join(" ".join(texts).split())
        return real(fig, path, **kwargs)

    monkeypatch.setattr(plot, "save", record)
    return seen


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ---- 1. the --runs table ----------------------------------------------------------------------
def test_a_drawn_simulated_table_is_named_and_labelled(simulated_fit, simulated_runs, tmp_path,
                                                       monkeypatch):
    """report --runs TABLE drew simulated runs under a real fit's curves with no word of it: the
    preamble ignored the table and the fan's title took its SIMULATED label from the fit only."""
    assert "SIMULATED" in simulated_runs.source  # the fixture's source column says so
    real = _relabelled(simulated_fit, "measured runs.csv")
    seen = _record_saves(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = fit_report(real, runs=simulated_runs, figure_dir=tmp_path / "figs").to_text()
    preamble = _one_line(text.split("== ")[0])
    assert "figures draw the runs of DataFrame (SIMULATED: its source column says so)" in (
        preamble
    ), preamble
    assert f"{len(simulated_runs)} rows of {len(simulated_runs)}" in preamble
    assert "(drawn runs SIMULATED)" in seen["fan.png"], seen
    assert "SIMULATED" not in seen["pairs.png"]  # the posterior is the real fit's


def test_a_fan_says_when_its_drawn_runs_are_simulated(simulated_fit, simulated_runs):
    """plot.fan labelled only from the fit's source; a drawn table simulated to another extent
    than the fit's data now adds its own words (a table not labelled simulated adds none)."""
    real = _relabelled(simulated_fit, "measured runs.csv")
    unlabelled = simulated_runs.df.drop(columns=["source"])
    cases = [
        (real, simulated_runs, "(drawn runs SIMULATED)"),
        (simulated_fit, simulated_runs, "(SIMULATED data)"),  # the same extent: said once
        (real, unlabelled, None),
    ]
    for fit, runs, words in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig = plot.fan(fit, runs, n_points=8, relative_panel=False)
        title = _one_line(fig._suptitle.get_text())
        matplotlib.pyplot.close(fig)
        if words is None:
            assert "SIMULATED" not in title, title
        else:
            assert words in title and title.count("SIMULATED") == 1, title


def test_exclusions_from_the_drawn_table_are_recorded(simulated_fit, simulated_runs, tmp_path,
                                                      capsys):
    """--exclude-rows on report's --runs left no trace although --help says exclusions are
    recorded; the preamble now names the table, its SIMULATED note and each exclusion."""
    fit_path, table = tmp_path / "fit.nc", tmp_path / "sim_runs.csv"
    _relabelled(simulated_fit, "measured runs.csv").save(fit_path)
    simulated_runs.df.to_csv(table, index=False)
    argv = ["report", str(fit_path), "--out", str(tmp_path / "r.html"), "--runs", str(table),
            "--exclude-rows", "0", "1", "2", "--exclude-reason", "bad tokenizer"]
    assert main(argv) == 0, capsys.readouterr().err
    out = _one_line(capsys.readouterr().out)
    n = len(simulated_runs)
    assert f"figures draw the runs of {table}" in out and "SIMULATED: its source column" in out
    assert f"{n - 3} rows of {n}; excluded from that table: 3 rows, reason: bad tokenizer" in out
    page = (tmp_path / "r.html").read_text()
    assert "excluded from that table: 3 rows" in page


def test_drawn_runs_sentence_of_a_frame_and_of_no_figures():
    from bayeslaws.app.report import drawn_runs_sentence

    frame = pd.DataFrame({"N": [1e8, 2e8], "D": [1e9, 2e9], "loss": [3.0, 2.9],
                          "source": ["simulated: x", "measured"]})
    line = drawn_runs_sentence(frame)
    assert "a DataFrame (partly SIMULATED: 1 of 2 rows by its source column)" in line
    assert "2 rows of 2" in line
    assert "not drawn (no figures were made)" in drawn_runs_sentence(frame, drawn=False)


# ---- 2. where the figures are ------------------------------------------------------------------
def test_the_figure_folder_is_named_and_replacements_are_said(simulated_fit, tmp_path, capsys):
    """The text said "figure fan.png" while the files went to <stem>_figures/, which no output
    named, and earlier figures there were overwritten silently."""
    path = tmp_path / "fit.nc"
    simulated_fit.save(path)
    folder = (tmp_path / "r_figures").resolve()
    argv = ["report", str(path), "--out", str(tmp_path / "r.html")]
    assert main(argv) == 0, capsys.readouterr().err
    first = capsys.readouterr().out
    assert "figure r_figures/fan.png:" in first and "figure r_figures/pairs.png:" in first
    assert f"wrote 2 figures to {folder}\n" in first
    assert (folder / "fan.png").is_file()
    assert "r_figures/fan.png: " in (tmp_path / "r.html").read_text()  # the caption
    assert main(argv) == 0
    again = capsys.readouterr().out
    assert f"wrote 2 figures to {folder} (replacing the earlier fan.png, pairs.png there)" in again


def test_a_file_that_is_not_a_figure_is_not_overwritten(simulated_fit, tmp_path, capsys):
    path = tmp_path / "fit.nc"
    simulated_fit.save(path)
    mine = tmp_path / "r_figures" / "pairs.png"
    mine.parent.mkdir()
    mine.write_text("my notes")
    assert main(["report", str(path), "--out", str(tmp_path / "r.html")]) != 0
    assert "is not a PNG image" in capsys.readouterr().err
    assert mine.read_text() == "my notes"


# ---- 3. a quantity the law gives no value of ----------------------------------------------------
def test_a_target_without_a_loss_says_so(small_sweep_hp_fit):
    """--target N D on a hyperparams fit dropped loss_opt (NaN off the fitted cells) without a
    word, where --C says the law defines none; the report now says so with the law's remedy."""
    fit = small_sweep_hp_fit
    fitted = (0.057e9, 5e9)  # a fitted cell: loss_opt is known there
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = fit_report(fit, targets=[(1e9, 1e11), fitted]).to_text()
    section = _one_line(text[text.index("== Predictions") :])
    note = "loss_opt: this fit's law gives no value at N 1e+09, D 1e+11 (its prediction is NaN"
    assert note in section, section
    assert _one_line(fit.law.missing_values_hint) in section
    assert "N 5.7e+07, D 5e+09 (its" not in section  # the fitted cell has its loss
    assert "loss_opt at N 5.7e+07, D 5e+09 (mean)" in section

