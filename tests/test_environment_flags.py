"""The package's environment flags are read one way (bayeslaws.runs.environment): 0, false, no,
off and blank are off, 1, true, yes, on are on, anything else is warned and off;
BAYESLAWS_COMPILATION_CACHE takes the on-words as its default folder and refuses a relative
path or a home folder it cannot find (no cache, warned), and ArviZ's daily banner is not shown
by the import that replaces a read-only cache folder."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest

from bayeslaws.app.cli import EXIT_BAD_INPUT, main
from bayeslaws.app.cli import entry as cli_entry
from bayeslaws.inference import compilation, progress

OFF = ["0", "false", "No", " off ", "", "  "]
ON = ["1", "true", " Yes", "ON"]


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch):
    """Each test sees its own first warning (the cache's is warned once per process)."""
    monkeypatch.setattr(compilation, "_warned_unwritable", False)
    monkeypatch.setattr(compilation, "_enabled", None)  # JAX's own cache is left as it is
    monkeypatch.setattr(compilation, "_chosen", False)


def _caught(call):
    """``call()``'s result and the messages of the warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, [str(w.message) for w in caught]


# ---- one parser: BAYESLAWS_QUIET, BAYESLAWS_DEBUG -----------------------------------------------
@pytest.mark.parametrize("value", OFF)
def test_an_off_word_is_off(monkeypatch, value):
    monkeypatch.setenv("BAYESLAWS_QUIET", value)
    assert _caught(progress.quiet) == (False, [])


@pytest.mark.parametrize("value", ON)
def test_an_on_word_is_on(monkeypatch, value):
    monkeypatch.setenv("BAYESLAWS_QUIET", value)
    assert _caught(progress.quiet) == (True, [])


def test_another_value_is_warned_once_naming_the_variable_and_read_as_off(monkeypatch):
    from bayeslaws.runs import environment

    monkeypatch.setattr(environment, "_warned", set())  # warned once per process and value
    monkeypatch.setenv("BAYESLAWS_QUIET", "maybe")
    quiet, messages = _caught(progress.quiet)
    assert quiet is False and len(messages) == 1
    assert "BAYESLAWS_QUIET" in messages[0] and "'maybe'" in messages[0]
    assert _caught(progress.quiet) == (False, [])  # once per value


def test_quiet_false_still_prints_progress(monkeypatch, capsys):
    monkeypatch.setenv("BAYESLAWS_QUIET", "false")
    with progress.step("sampling", after=0.0):
        time.sleep(0.2)
    assert "sampling" in capsys.readouterr().err


def test_quiet_false_still_announces_the_slow_start_of_the_command_line(monkeypatch, capsys):
    monkeypatch.setenv("BAYESLAWS_QUIET", "false")
    monkeypatch.delitem(sys.modules, "bayeslaws.posterior.extrapolation")  # a fresh process
    with cli_entry._starting(after=0.0):
        time.sleep(0.2)
    assert "loading JAX" in capsys.readouterr().err


def _unknown_option(tmp_path) -> list[str]:
    """A command line with an option ``fit`` does not take: an input error."""
    return ["fit", str(tmp_path / "runs.csv"), "--out", str(tmp_path / "f.nc"), "--no-such-option"]


@pytest.mark.parametrize("value", ["0", "false", "no"])
def test_debug_off_words_keep_the_one_line_error(monkeypatch, capsys, tmp_path, value):
    monkeypatch.setenv("BAYESLAWS_DEBUG", value)
    code = main(_unknown_option(tmp_path))
    assert code == EXIT_BAD_INPUT
    assert "--no-such-option" in capsys.readouterr().err


def test_debug_on_raises_the_error(monkeypatch, tmp_path):
    monkeypatch.setenv("BAYESLAWS_DEBUG", "1")
    with pytest.raises(Exception, match="--no-such-option"):
        main(_unknown_option(tmp_path))


# ---- BAYESLAWS_COMPILATION_CACHE ------------------------------------------------------------
@pytest.mark.parametrize("value", ON)
def test_cache_on_words_mean_the_default_folder(monkeypatch, tmp_path, value):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv(compilation.ENV, value)
    assert _caught(compilation.cache_dir) == (tmp_path / "bayeslaws" / "jax", [])


@pytest.mark.parametrize("value", ["0", "false", "no", "off", "none", "OFF "])
def test_cache_off_words_disable_it(monkeypatch, value):
    monkeypatch.setenv(compilation.ENV, value)
    assert _caught(compilation.cache_dir) == (None, [])


@pytest.mark.parametrize("value", ["garbage", "-1", "cache/here", "~no_such_user_f6/x"])
def test_a_relative_cache_folder_is_refused_and_created_nowhere(monkeypatch, tmp_path, value):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(compilation.ENV, value)
    folder, messages = _caught(compilation.enable_compilation_cache)
    assert folder is None and compilation.compilation_cache_enabled() is None
    assert len(messages) == 1 and compilation.ENV in messages[0] and repr(value) in messages[0]
    assert list(tmp_path.iterdir()) == []  # no folder named after the value


def _no_home():
    raise RuntimeError("Could not determine home directory.")


def test_no_home_folder_means_no_cache_warned(monkeypatch):
    """HOME unset and no passwd entry (a container's uid): Path.home() raises."""
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv(compilation.ENV, raising=False)
    monkeypatch.setattr(Path, "home", staticmethod(_no_home))
    folder, messages = _caught(compilation.enable_compilation_cache)
    assert folder is None and len(messages) == 1
    assert "home directory" in messages[0] and "XDG_CACHE_HOME" in messages[0]


def test_a_tilde_folder_without_a_home_means_no_cache_warned(monkeypatch):
    monkeypatch.setenv(compilation.ENV, "~/jax")
    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setattr("os.path.expanduser", lambda path: path)  # no passwd entry either
    folder, messages = _caught(compilation.enable_compilation_cache)
    assert folder is None and len(messages) == 1 and compilation.ENV in messages[0]


# ---- ArviZ's banner and a read-only cache folder --------------------------------------------
IMPORT_WITH_TEMPORARY_CACHE = textwrap.dedent(
    """
    import warnings
    from bayeslaws.inference import deferred

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        deferred._import_with_temporary_cache(PermissionError(13, "Permission denied", "/ro"))
    for w in caught:
        print(w.category.__name__, " ".join(str(w.message).split())[:60])
    """
)


def test_the_temporary_cache_import_does_not_show_arvizs_banner():
    """A read-only home: each run imports ArviZ with a new temporary cache folder, which has no
    stamp of the banner's day."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_WITH_TEMPORARY_CACHE], capture_output=True, text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert lines and lines[0].startswith("UserWarning ArviZ cannot write its cache folder")
    assert not [line for line in lines if "major refactor" in line], lines
