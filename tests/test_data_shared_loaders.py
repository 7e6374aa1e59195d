"""The third-party loaders of bayeslaws.runs.bundled with the shared data (tiny stand-in tables
in tmp folders): a misspelt column lists the configuration columns, BAYESLAWS_SHARED_DATA naming
a folder without the tables is SharedDataMissing with a hint, and ``bayeslaws repro`` skips the
scripts that need them."""

from __future__ import annotations

import io

import pytest
from conftest import porian_stand_in

from bayeslaws.app import repro
from bayeslaws.runs import bundled
from bayeslaws.runs.checks import UnknownNameError


def test_porian_unknown_column_lists_the_configuration_columns(tmp_path, monkeypatch):
    porian_stand_in(tmp_path / "porian_isoflop")
    monkeypatch.setenv("BAYESLAWS_SHARED_DATA", str(tmp_path))
    with pytest.raises(UnknownNameError) as err:
        bundled.porian_isoflop(datset="rw")
    text = str(err.value)
    assert "no column 'datset'" in text and "did you mean 'dataset'?" in text
    assert "source_file, dataset, hparams, param_count" in text


@pytest.mark.parametrize(
    ("column", "said"),
    [("loss", "no configuration column"), ("C", "no configuration column"),
     ("flops", "no column")],  # flops: the file's name for C, not a column of the table
)  # fmt: skip
def test_porian_filters_only_its_configuration_columns(tmp_path, monkeypatch, column, said):
    """A filter on a value column (loss, C, the file's flops) was taken (``C=``), refused with
    "no column" while the column exists (``flops=``), or refused with every distinct value
    listed (``loss=``, 33 KB on the real file): it is now refused as not a configuration column,
    naming those and the way to filter any other."""
    porian_stand_in(tmp_path / "porian_isoflop")
    monkeypatch.setenv("BAYESLAWS_SHARED_DATA", str(tmp_path))
    with pytest.raises(UnknownNameError) as err:
        bundled.porian_isoflop(**{column: 1.0})
    text = str(err.value)
    assert f"{said} {column!r}" in text
    assert "source_file, dataset, hparams, param_count" in text and "runs.subset" in text
    assert len(text) < 500


def test_shared_folder_without_the_tables_is_shared_data_missing(tmp_path, monkeypatch):
    """The variable naming shared/ (whose data/ holds the tables) is SharedDataMissing naming
    the folder to use, not a bare FileNotFoundError."""
    shared = tmp_path / "shared"
    porian_stand_in(shared / "data" / "porian_isoflop")
    monkeypatch.setenv("BAYESLAWS_SHARED_DATA", str(shared))
    for load in (bundled.porian_isoflop, bundled.epoch_chinchilla):
        with pytest.raises(bundled.SharedDataMissing) as err:
            load()
        text = str(err.value)
        assert "shared/ rather than shared/data/" in text
        assert f"the tables are in {shared / 'data'}" in text
    # a shared/data folder holding one source: another source's loader names its missing file
    monkeypatch.setenv("BAYESLAWS_SHARED_DATA", str(shared / "data"))
    assert len(bundled.porian_isoflop(dataset="rw")) == 2
    with pytest.raises(bundled.SharedDataMissing, match="epoch_chinchilla/svg_extracted_data"):
        bundled.epoch_chinchilla()
    with pytest.raises(bundled.SharedDataMissing, match="steplaw_lr_bs/dense_lr_bs_loss"):
        bundled.steplaw_dense()


def test_the_variable_may_name_the_folder_from_home(tmp_path, monkeypatch):
    """BAYESLAWS_SHARED_DATA="~/shared/data" was read as a folder named "~" in the current
    one, and the message asked whether it named shared/ rather than shared/data/."""
    porian_stand_in(tmp_path / "shared" / "data" / "porian_isoflop")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("BAYESLAWS_SHARED_DATA", "~/shared/data")
    assert bundled.shared_data_dir() == tmp_path / "shared" / "data"
    assert len(bundled.porian_isoflop(dataset="rw")) == 2


def test_repro_skips_shared_scripts_when_the_folder_lacks_the_tables(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    data = shared / "data"
    for folder, name in (
        ("porian_isoflop", "isoflop_points.csv"),
        ("porian_isoflop", "published_fits.csv"),
        ("porian_isoflop", "optimal_pairs.csv"),
        ("epoch_chinchilla", "svg_extracted_data.csv"),
    ):
        (data / folder).mkdir(parents=True, exist_ok=True)
        (data / folder / name).write_text("x\n1\n")
    src = tmp_path / "src"
    src.mkdir()
    (src / "porian.py").write_text("raise SystemExit(3)\n")  # a stand-in: fails if it runs
    monkeypatch.setenv("BAYESLAWS_SHARED_DATA", str(shared))
    assert not repro._shared_available()
    status = repro.run_repro(
        tmp_path / "out", only="porian", draws=10, source=src, stream=io.StringIO()
    )
    assert status["porian"].startswith("skipped"), status
    monkeypatch.setenv("BAYESLAWS_SHARED_DATA", str(data))
    assert repro._shared_available()
    (data / "porian_isoflop" / "optimal_pairs.csv").unlink()  # porian.py reads it too
    assert not repro._shared_available()
