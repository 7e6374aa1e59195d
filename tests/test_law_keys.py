"""The keys of compiled kernels and saved programs (``law_key``, ``code_digest``,
``exported.program_key``) cover everything that shapes a law's model, and ``bl.fit`` refuses a
law whose state its options do not record. Before, an edited dict / list / array class
attribute, a keyword-only default or a closure's value kept the old compiled model, and a law's
constructor state (``Shifted(1.0)``) reused ``Shifted(0.0)``'s kernel and was dropped from the
fit (``fit.law`` was rebuilt as ``Shifted()``): a wrong posterior or prediction, silently."""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import TRUTH, chinchilla_design

import bayeslaws as bl
from bayeslaws.inference import exported, nuts
from bayeslaws.laws import LAWS, law_ref, resolve_law
from bayeslaws.laws.chinchilla import Chinchilla
from bayeslaws.laws.contract import Scales, code_digest, law_key
from bayeslaws.runs import simulate


class Shifted(Chinchilla):
    """Chinchilla with a known offset on ln L, set by the constructor but not an option."""

    name = "shifted_state"

    def __init__(self, shift: float = 0.0):
        self.shift = float(shift)

    def log_loss(self, theta, x, y, scales):
        return super().log_loss(theta, x, y, scales) + self.shift


class ShiftedOption(Shifted):
    """The same offset declared as an option (what the refusal advises)."""

    name = "shifted_option"

    @property
    def options(self) -> dict:
        return {"shift": self.shift}


def _defined(source: str, value) -> type:
    """A law class ``L(Chinchilla)`` defined from ``source`` (``{v}``: the value), as a
    notebook cell run again after an edit defines it."""
    scope = {"Chinchilla": Chinchilla, "np": np, "functools": functools}
    exec(source.format(v=value), scope)
    return scope["L"]


EDITS = {
    "dict attribute": "class L(Chinchilla):\n    c = {{'shift': {v}}}",
    "list attribute": "class L(Chinchilla):\n    c = [{v}]",
    "set attribute": "class L(Chinchilla):\n    c = {{{v}, 'a', 'b'}}",
    "nested dict": "class L(Chinchilla):\n    c = {{'a': {{'b': [({v},)]}}}}",
    "ndarray attribute": "class L(Chinchilla):\n    c = np.array([{v}, 2.0])",
    "keyword-only default": (
        "class L(Chinchilla):\n"
        "    def log_loss(self, theta, x, y, scales, *, shift={v}):\n"
        "        return super().log_loss(theta, x, y, scales) + shift"
    ),
    "closure cell": (
        "def make(shift):\n"
        "    class L(Chinchilla):\n"
        "        def log_loss(self, theta, x, y, scales):\n"
        "            return super().log_loss(theta, x, y, scales) + shift\n"
        "    return L\n"
        "L = make({v})"
    ),
    "wrapped function": (
        "def base(theta, shift={v}):\n    return shift\n"
        "class L(Chinchilla):\n    helper = functools.wraps(base)(lambda *a: base(*a))"
    ),
    "partial": "class L(Chinchilla):\n    helper = functools.partial(max, {v})",
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_edited_value_of_a_law_class_changes_its_digest(edit):
    """Each of these edits changes what the model computes: the old code digest ignored it
    (dicts, lists, arrays hashed to nothing; keyword defaults and closures unread)."""
    source = EDITS[edit]
    before, after = code_digest(_defined(source, 0.0)), code_digest(_defined(source, 1.0))
    assert before != after
    assert code_digest(_defined(source, 0.0)) == before  # the same code: the same digest


def test_a_class_attribute_changed_in_place_changes_the_law_key():
    """The digest is not cached per class: a dict attribute edited in place is a new key."""
    cls = _defined(EDITS["dict attribute"], 0.0)
    before = law_key(cls())
    cls.c["shift"] = 1.0
    assert law_key(cls()) != before


def test_instance_state_is_part_of_the_law_key_and_the_program_key():
    """``Shifted(1.0)`` reused ``Shifted(0.0)``'s compiled kernel (in this process) and saved
    program (in the next): the keys ignored state outside ``options``."""
    assert law_key(Shifted(0.0)) != law_key(Shifted(1.0))
    assert law_key(Shifted(0.0)) == law_key(Shifted(0.0))
    model = ("the same model key",)
    zero, one = (exported.program_key(Shifted(s), model) for s in (0.0, 1.0))
    assert zero is not None and one is not None  # a law in a file: its programs are saved
    assert zero != one


def test_state_with_no_stable_description_is_never_reused_nor_saved():
    """An object of an unknown type (here a plain ``object()``) cannot be described the same
    way twice: each key is new (recompiled, never another state's kernel) and no program of
    the law is saved to disk (another process would not know whether its state differs)."""
    from bayeslaws.laws.contract import law_key_is_portable

    law = Shifted(0.0)
    law.helper = object()
    assert law_key(law) != law_key(law)
    assert not law_key_is_portable(law)
    assert exported.program_key(law, ("key",)) is None
    cls = _defined("class L(Chinchilla):\n    helper = {v}()", "object")
    assert code_digest(cls) != code_digest(cls)
    assert exported.program_key(cls(), ("key",)) is None
    assert law_key_is_portable(Shifted(0.0))


def test_the_digest_is_the_same_in_another_process():
    """Saved programs are shared between processes: sets (whose order follows the string-hash
    seed), dicts and arrays are described the same way under another hash seed."""
    source = (
        "class L(Chinchilla):\n"
        "    c = {{'s': {{'x', 'y', 'z', 'w'}}, 'a': np.arange(3.0), 'f': frozenset('abcdef')}}"
    )
    script = (
        "import numpy as np, functools\n"
        "from bayeslaws.laws.chinchilla import Chinchilla\n"
        "from bayeslaws.laws.contract import code_digest\n"
        f"scope = dict(Chinchilla=Chinchilla, np=np)\nexec({source.format(v=0)!r}, scope)\n"
        "print(code_digest(scope['L']))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == code_digest(_defined(source, 0))


LAW_OPTIONS = [(name, {}) for name in sorted(LAWS)] + [
    ("hyperparams", {"bowl_scale": "loss"}),
    ("hyperparams", {"divergence": "exclude", "far_above": 0.03, "divergence_threshold": 5.0}),
    ("hyperparams_two_stage", {"tolerance": 0.1, "terms": {"lr": ["N"]}}),
    ("isoflop", {"loss_floor": True, "run_offsets": "free"}),
    ("isoflop_cubic", {"loss_floor": True, "skew_saturation": 2.0}),
    ("sweep", {"fence": None, "shape_scatter": True, "optima_drift": [1.0, 0.5]}),
]


@pytest.mark.parametrize(("name", "options"), LAW_OPTIONS)
def test_every_builtin_law_is_rebuilt_from_its_options(name, options):
    """The fit-time check passes every registered law with its options (attributes set from
    options in ``__init__`` match after rebuilding), and their keys are portable."""
    from bayeslaws.laws.contract import law_key_is_portable

    law = resolve_law(name, options)
    nuts.check_law_rebuilds(law)
    assert law_key_is_portable(law)
    assert law_key(resolve_law(law_ref(law), law.options)) == law_key(law)


def test_a_copy_with_reference_scales_passes_the_check():
    """Calibration fits ``law.with_reference_scales(...)`` copies: their fixed scales are in
    the fit's record (its scales), not options, and must not be refused; they are keyed."""
    law = LAWS["chinchilla"].with_reference_scales(Scales({"N": 20.0, "D": 23.0, "loss": 1.0}))
    nuts.check_law_rebuilds(law)
    assert law_key(law) != law_key(LAWS["chinchilla"])


def test_fit_refuses_a_law_whose_state_its_options_do_not_record(monkeypatch):
    """``bl.fit(runs, Shifted(1.0))`` fitted Shifted(1.0) but ``fit.law`` was ``Shifted()``:
    predictions off by a factor e, silently. Now refused before sampling, naming the attribute
    and how to declare it; the same state declared as an option passes."""

    def no_sampling(*args, **kwargs):
        raise AssertionError("sampled a law whose state the fit cannot rebuild")

    monkeypatch.setattr(nuts, "_cached_mcmc", no_sampling)
    N, D = chinchilla_design(3, 3)
    runs = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=0)
    tiny = dict(chains=1, warmup=10, draws=10, warn=False, screen="off")
    with pytest.raises(ValueError, match=r"\['shift'\] \(shift=1.0 here, shift=0.0 in the law"):
        bl.fit(runs, Shifted(1.0), **tiny)
    with pytest.raises(ValueError, match="`options` property"):
        bl.fit(runs, Shifted(1.0), **tiny)
    nuts.check_law_rebuilds(Shifted(0.0))  # its state is the default one: nothing lost
    nuts.check_law_rebuilds(ShiftedOption(1.0))  # declared: rebuilt with shift=1.0
    assert resolve_law(law_ref(ShiftedOption(1.0)), {"shift": 1.0}).shift == 1.0


def test_dataclass_and_slots_laws_have_stable_keys_of_their_state():
    """A law written as a dataclass (its fields its state) or with slots: keyed by that state,
    the same key for the same state (the machinery's sentinels and descriptors are not taken
    for unknown objects, which would recompile every fit and never save a program)."""
    import dataclasses

    from bayeslaws.laws.contract import law_key_is_portable

    @dataclasses.dataclass(frozen=True, eq=False)
    class Fields(Chinchilla):
        shift: float = 0.0
        tags: list = dataclasses.field(default_factory=list)

    class Slots(Chinchilla):
        __slots__ = ("shift",)

        def __init__(self, shift: float = 0.0):
            self.shift = shift

    for cls in (Fields, Slots):
        assert law_key_is_portable(cls())
        assert law_key(cls()) == law_key(cls())
        assert law_key(cls(1.0)) != law_key(cls(0.0))


def test_copying_a_law_leaves_its_class_digest_unchanged():
    """copy.copy of a law caches ``__slotnames__`` on its class (copyreg): Python's machinery,
    not the law's code; the digest changed after any copy (saved programs then never matched
    another process's)."""
    import copy

    from bayeslaws.laws.contract import code_digest

    class Fresh(Chinchilla):
        pass

    before = code_digest(Fresh)
    copy.copy(Fresh())
    assert "__slotnames__" in vars(Fresh)
    assert code_digest(Fresh) == before

