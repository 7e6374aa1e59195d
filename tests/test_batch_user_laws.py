"""bl.fit_many with a user's own law: a class of the main script is recorded as ``__main__``
(not as a spawn worker's ``__mp_main__``), and a law that worker processes cannot import (a
class defined inside a function, or in a notebook's ``__main__``) is refused in the client at
once as bad input with the remedy, instead of killing workers or being retried."""

from __future__ import annotations

import sys
import textwrap
import threading
import types
import warnings

import pytest
from conftest import TRUTH, chinchilla_design

import bayeslaws as bl
from bayeslaws.inference.batch import fit_many, map_tasks
from bayeslaws.laws import class_ref, law_ref, unportable_reason
from bayeslaws.laws.chinchilla import Chinchilla
from bayeslaws.runs import simulate

TINY = {"chains": 1, "warmup": 100, "draws": 100, "seed": 0, "screen": "off"}
MODULE = "f7_user_laws"  # the user's own importable module, written to a temporary folder
USER_LAWS = """
    from bayeslaws.laws.chinchilla import Chinchilla


    class ModuleLaw(Chinchilla):
        name = "f7_module_law"
"""


@pytest.fixture(scope="module")
def runs():
    N, D = chinchilla_design(4, 4)
    df = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=3)
    return bl.load_runs(df)


@pytest.fixture(scope="module")
def user_module(tmp_path_factory):
    """The user's module ``f7_user_laws``, importable here and in spawned workers (sys.path)."""
    folder = tmp_path_factory.mktemp("f7_user_laws")
    (folder / f"{MODULE}.py").write_text(textwrap.dedent(USER_LAWS))
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(folder))
        yield __import__(MODULE)


def make_local_law():
    class LocalLaw(Chinchilla):
        name = "f7_local_law"

    return LocalLaw()


def test_a_class_of_a_spawn_workers_main_is_recorded_as_main():
    """A spawn worker runs the script again as __mp_main__: its class was recorded as
    '__mp_main__:MainLaw', which no process can import and which was not warned about."""
    MainLaw = type("MainLaw", (Chinchilla,), {"name": "f7_main_law", "__module__": "__mp_main__"})
    assert class_ref(MainLaw) == "__main__:MainLaw"
    assert law_ref(MainLaw()) == "__main__:MainLaw"
    for ref in ("__main__:MainLaw", "__mp_main__:MainLaw"):  # old files recorded the latter
        assert "script or notebook" in unportable_reason(ref)


def test_a_file_that_recorded_mp_main_loads_where_the_script_defines_the_class(monkeypatch):
    """A fit saved from a spawn worker before the mapping recorded '__mp_main__:MainLaw'; the
    remedy its load error gives (define the class in the loading script) did not work, since
    no process has a module '__mp_main__'. It resolves in the script's own __main__ now."""
    from bayeslaws.laws import resolve_law

    MainLaw = type("MainLaw", (Chinchilla,), {"name": "f7_mp_main", "__module__": "__main__"})
    monkeypatch.setattr(sys.modules["__main__"], "MainLaw", MainLaw, raising=False)
    assert type(resolve_law("__mp_main__:MainLaw")) is MainLaw
    monkeypatch.delattr(sys.modules["__main__"], "MainLaw")
    with pytest.raises(ValueError, match=r"define the class MainLaw \(same name\) in the script"):
        resolve_law("__mp_main__:MainLaw")


def test_a_function_local_law_is_refused_at_once_by_the_local_pool(runs):
    """It failed to pickle in the pool, was retried, and was recorded after 2 attempts as its
    worker's or executor's failure; now it is bad input, refused before submission."""
    tasks = [{"runs": runs, "law": make_local_law(), "name": "local", **TINY}]
    (result,) = fit_many(tasks, workers=1, show_progress=False)
    assert not result.ok and result.attempts == 1
    assert result.error.startswith("TypeError: task 'local': its law")
    assert "make_local_law.<locals>.LocalLaw" in result.error
    assert "define it at module level in an importable module" in result.error


def test_a_notebook_law_is_refused_by_the_local_pool_and_others_still_fit(
    runs, user_module, monkeypatch
):
    """A law class of a __main__ without a file (a notebook) killed the spawned worker that
    unpickled it: recorded after 2 attempts as a generic worker crash. Now it is refused in
    the client, naming the class and the remedy; a law of an importable module still fits."""
    notebook = types.ModuleType("__main__")  # a notebook's main module: no __file__
    NbLaw = type("NbLaw", (Chinchilla,), {"name": "f7_nb_law", "__module__": "__main__"})
    notebook.NbLaw = NbLaw
    monkeypatch.setitem(sys.modules, "__main__", notebook)
    tasks = [
        {"runs": runs, "law": NbLaw(), "name": "nb", **TINY},
        {"runs": runs, "law": user_module.ModuleLaw(), "name": "module", **TINY, "warn": False},
    ]
    nb, module = fit_many(tasks, workers=1, show_progress=False)
    assert not nb.ok and nb.attempts == 1
    assert nb.error.startswith("TypeError: task 'nb': its law '__main__:NbLaw'")
    assert "from mylaws import NbLaw" in nb.error
    assert module.ok and module.fit.record.law == f"{MODULE}:ModuleLaw"


def double(x):
    return 2 * x


def test_an_item_that_does_not_pickle_is_refused_at_once_by_the_local_pool():
    """Its pickling failed in the pool and was retried as the executor's failure."""
    (result,) = map_tasks(double, [threading.Lock()], workers=1, show_progress=False)
    assert not result.ok and result.attempts == 1 and result.worker is None
    assert result.error.startswith("TypeError: it cannot be pickled to reach the local worker")


def test_the_local_pool_is_refused_when_its_workers_cannot_start(monkeypatch):
    """Code read from stdin (``python - < script.py``) has __main__.__file__ '<stdin>', which
    every spawned worker tried to run again and died: all tasks failed as worker crashes."""
    stdin = types.ModuleType("__main__")
    stdin.__file__ = "<stdin>"
    monkeypatch.setitem(sys.modules, "__main__", stdin)
    with pytest.raises(RuntimeError, match=r"'<stdin>'\) does not exist.*InProcessExecutor"):
        map_tasks(double, [1, 2], workers=1, show_progress=False)


def test_dask_refuses_a_function_local_law_and_warns_of_a_main_law_saved(runs, tmp_path):
    """On Dask (cloudpickle sends classes by value) a function-local law arrived as
    '__main__:LocalLaw': its task was "ok" but its fit unusable. It is refused in the client
    now; a __main__ law with save_dir is warned about in the client."""
    distributed = pytest.importorskip("distributed")
    from bayeslaws.inference.fit import UnportableLawWarning

    MainLaw = type("MainLaw", (Chinchilla,), {"name": "f7_main_law", "__module__": "__main__"})
    tasks = [
        {"runs": runs, "law": make_local_law(), "name": "local", **TINY},
        # an unknown option: fails at once in the worker, no sampling needed for the warning
        {"runs": runs, "law": MainLaw(), "name": "main", "no_such_option": 1},
    ]
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            local, main = fit_many(tasks, client, save_dir=tmp_path, show_progress=False)
    assert not local.ok and local.attempts == 1
    assert "define it at module level in an importable module" in local.error
    unportable = [w for w in caught if issubclass(w.category, UnportableLawWarning)]
    assert len(unportable) == 1 and "'__main__:MainLaw'" in str(unportable[0].message)
    assert "'main'" in str(unportable[0].message) and not main.ok
