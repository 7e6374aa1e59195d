"""Traced NUTS programs on disk, so that a new process on data of the same shape skips tracing.

JAX's persistent compilation cache (:mod:`.compilation`) saves XLA's compilation, but a new
process still traces the model, NumPyro's initialisation and its NUTS tree into a program
before XLA sees it: about 2 s of Python for a Chinchilla fit of Epoch's table, a third of a
second ``bayeslaws fit`` once compilation is cached. This module saves the traced program
itself (``jax.export``, StableHLO) and calls it instead of tracing again.

Mechanics: :func:`chain_method` returns a callable that NumPyro's ``MCMC`` accepts as its
``chain_method``: it receives NumPyro's per-chain function and maps it over the chains (as
``"parallel"`` does, by ``jax.pmap``), with the model's data passed as arguments rather than
closed over, so that one program serves every data set of the same shapes; when programs are
not saved (the cache off, no ``flatbuffers``) the same program runs by ``jax.pmap``, the data
still arguments, so that a seed draws the same chains with the cache on or off (closed over,
XLA folds the data as constants and rounds otherwise: other draws). NumPyro runs a
single chain without its ``chain_method``; :func:`route_one_chain` sends every cold one-chain
run through the same machinery (a map over one chain: SBC tasks and one-chain refits), by
``jax.pmap`` when programs are not saved, so that a seed draws the same chain with the cache on
or off (NumPyro's own one-chain program is compiled otherwise and draws another). The program is
keyed on everything that shapes it except the values (:func:`program_key`): the law and its
options, priors, likelihood, the model's static arguments, the sampler settings, the shapes
and dtypes of the inputs, the collected fields, the library versions, the JAX configuration
and a digest of the source of the layers a sampled program can run (``runs``, ``laws``,
``inference``: an edit to predictions, design, reports or the CLI keeps the programs) and of
the modules defining the law's class and its bases. A law whose source cannot be read
(defined in a notebook cell), or whose class or instance state holds an object with no
description that is the same in every process, is never exported. The module constants a
law's code reads, its own module's or a constant read through an imported module
(``helpers.C``), are in the key by value (:func:`bayeslaws.laws.contract.code_digest`); the code
of a function in another module of the user's is not: after editing one, clear the cache
folder or set ``BAYESLAWS_COMPILATION_CACHE=off``.

Only a cold run is served from disk (no warm-up state, no initial values: ``fit.update``
traces as before). A run with NumPyro's progress bar (parallel chains only,
:func:`bayeslaws.inference.nuts.numpyro_bar`) is never saved: the bar's host callbacks cannot
be exported, so it runs the ``jax.pmap`` twin, the data as arguments, traced in the process;
the callbacks count iterations beside the arithmetic, which is unchanged: the same draws as
without the bar. Anything unexpected -- ``flatbuffers`` missing (JAX needs it to
serialise), a program written by another JAX, a changed NumPyro internal -- falls back to
NumPyro's own ``pmap`` path, and a program that fails to load is deleted. A program's output
tree (``.tree``) is read by :func:`read_tree`, which rebuilds a JAX tree of NumPyro's sampler
state and nothing else (the folder may be shared: a planted pickle runs no code, it is corrupt).
The programs live in ``programs/`` inside the compilation cache folder (the 256 most recently
used are kept; written with the permissions of any new file, so users sharing the folder read
each other's) and are disabled with it (``BAYESLAWS_COMPILATION_CACHE=off``: the same
``pmap`` runs, traced in each process). Measured by ``benchmarks/speed.py --only cache``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import inspect
import io
import os
import pickle
import time
from collections import OrderedDict
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ..laws.contract import law_key, law_key_is_portable
from ..runs.atomic import TMP_PREFIX, replace_file
from .compilation import jax_config_key

FORMAT = 1  # bump when the files' layout changes
SUFFIX = ".jaxexport"
MAX_LOADED = 16  # programs kept ready in one process
MAX_ON_DISK = 256  # programs kept in a folder (least recently used removed; ~0.1 MB each)
STALE_TMP_S = 3600.0  # seconds; a temporary file (TMP_PREFIX) this old is removed by prune
_LOADED: OrderedDict = OrderedDict()  # file stem -> (runner, output tree)


def remove_stale(paths) -> None:
    """Remove the files of ``paths`` last written more than ``STALE_TMP_S`` seconds ago: the
    temporary files of writes that were killed. A younger one may be another process's write
    in progress and is kept. Best effort: what cannot be read or removed is left."""
    stale_before = time.time() - STALE_TMP_S
    for path in paths:
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime < stale_before:
                path.unlink()
        except OSError:
            pass


def available() -> bool:
    """True when JAX can serialise programs here (``flatbuffers`` installed)."""
    return importlib.util.find_spec("flatbuffers") is not None


# the layers a sampled program can execute: the sampler's own layer and the ones below it
# (tests/test_layers.py checks that they import nothing above, and that this is its list's head)
TRACED_LAYERS = ("runs", "laws", "inference")


def source_digest(root: Path, layers: tuple[str, ...]) -> str:
    """sha256 over the ``*.py`` files (paths and contents) under ``root``'s ``layers`` folders."""
    digest = hashlib.sha256()
    for layer in layers:
        for path in sorted((Path(root) / layer).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.cache
def _traced_source_digest() -> str:
    """The digest of bayeslaws' TRACED_LAYERS: an edit there never reuses a program, while an
    edit in a layer above (predictions, design, reports, the CLI), which no traced program
    runs, keeps every saved program."""
    return source_digest(Path(__file__).resolve().parents[1], TRACED_LAYERS)


def law_source_digest(law) -> str | None:
    """sha256 of the files defining the law's class and each of its bases (a user's law may
    inherit from their own base class), or None when one cannot be read. Other modules the
    law's code reads (a helper's constant) are not covered: after editing one, clear the
    cache folder or set BAYESLAWS_COMPILATION_CACHE=off."""
    digest = hashlib.sha256()
    for klass in type(law).__mro__:
        if klass is object or klass.__module__ in ("abc", "builtins"):
            continue
        try:
            path = inspect.getsourcefile(klass)
            if not path:
                return None
            digest.update(Path(path).read_bytes())
        except (TypeError, OSError):
            return None
    return digest.hexdigest()


def _versions() -> tuple:
    names = ("jax", "jaxlib", "numpyro")
    return tuple((n, importlib.metadata.version(n)) for n in names)


def program_key(law, model_key: tuple) -> str | None:
    """The file stem of a law's programs: a sha256 of ``model_key`` (law, priors, likelihood,
    static arguments, data shapes, sampler settings: the in-memory kernel cache's key, whose
    law part covers the law's class attributes and instance state), the source digests,
    versions and JAX configuration; None when the law's source is unreadable or its state has
    no description that is the same in every process (``law_key_is_portable``): then nothing
    is exported, and another process never loads a program of other state."""
    law_source = law_source_digest(law)
    if law_source is None or not law_key_is_portable(law):
        return None
    parts = (
        FORMAT,
        law_key(law),  # its instance state too, whatever key the caller built
        repr(model_key),
        _traced_source_digest(),
        law_source,
        _versions(),
        jax.default_backend(),
        jax.device_count(),
        jax_config_key(),
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def programs(folder: Path | None, key: str | None) -> Programs | None:
    """The store of one model's programs, or None when programs cannot be saved (no folder,
    no key, no ``flatbuffers``)."""
    if folder is None or key is None or not available():
        return None
    return Programs(Path(folder) / "programs", key)


def chain_method(folder: Path | None, key: str | None):
    """NumPyro's ``chain_method`` for parallel chains: an :class:`ExportedChains`, through the
    store of saved programs when programs can be saved, else (``folder`` None: the cache off,
    or a progress bar, whose host callbacks cannot be saved) through ``jax.pmap`` of the same
    program (the data as arguments either way, so the same draws with or without the cache
    and the bar)."""
    return ExportedChains(programs(folder, key))


class Programs:
    """Traced programs of one model key in a folder: :meth:`call` runs a function through the
    program saved for its inputs' shapes, tracing and saving it the first time."""

    def __init__(self, folder: Path, key: str):
        self.folder, self.key = folder, key
        self.last_source = None  # "traced", "loaded" or "fallback" (the last call's path)

    def call(self, fn, args: tuple, *, n_devices: int = 1, tag=()):
        """``fn(*args)`` through the saved program of these shapes (and ``tag``: anything else
        that shapes the program), on the first ``n_devices`` devices; ``fn`` itself when the
        program cannot be exported."""
        leaves, in_tree = jax.tree_util.tree_flatten(args)
        stem = f"{self.key}-{_inputs_digest(leaves, in_tree, tag)}"
        loaded = _LOADED.get(stem) or self._load(stem)
        if loaded is not None:
            run, out_tree = loaded
            try:
                result = jax.tree_util.tree_unflatten(out_tree, run(leaves))
            except Exception:  # a program this JAX cannot run, or its tree: drop it and trace
                _LOADED.pop(stem, None)
                self._remove(stem)
            else:
                _remember(stem, loaded)
                self.last_source = "loaded"
                return result
        return self._trace_and_save(stem, fn, leaves, in_tree, n_devices)

    def _trace_and_save(self, stem, fn, leaves, in_tree, n_devices: int):
        out_tree = []

        def flat(*flat_leaves):
            out_leaves, tree = jax.tree_util.tree_flatten(
                fn(*jax.tree_util.tree_unflatten(in_tree, flat_leaves))
            )
            out_tree.append(tree)
            return tuple(out_leaves)

        replicated = jax.sharding.NamedSharding(_mesh(n_devices), jax.sharding.PartitionSpec())
        program = jax.jit(flat, in_shardings=replicated, out_shardings=replicated)
        try:
            specs = [jax.ShapeDtypeStruct(np.shape(x), jnp.result_type(x)) for x in leaves]
            exported = jax.export.export(program)(*specs)
            data = exported.serialize()
        except Exception:  # not exportable (e.g. a host callback): run it as it is
            self.last_source = "fallback"
            return fn(*jax.tree_util.tree_unflatten(in_tree, leaves))
        self._save(stem, data, out_tree[0])
        self.last_source = "traced"
        run = _runner(exported)
        _remember(stem, (run, out_tree[0]))
        return jax.tree_util.tree_unflatten(out_tree[0], run(leaves))

    def _paths(self, stem: str) -> tuple[Path, Path]:
        return self.folder / f"{stem}{SUFFIX}", self.folder / f"{stem}.tree"

    def _load(self, stem: str):
        program, tree = self._paths(stem)
        if not (program.exists() and tree.exists()):
            return None
        try:
            exported = jax.export.deserialize(bytearray(program.read_bytes()))
            out_tree = read_tree(tree.read_bytes())
            if out_tree.num_leaves != len(exported.out_avals):
                raise ValueError(f"{tree} does not match its program's outputs")
            loaded = _runner(exported), out_tree
        except Exception:  # unreadable, corrupt or planted: drop it and trace again
            self._remove(stem)
            return None
        try:
            os.utime(program)  # recently used: kept when the folder is pruned
        except OSError:  # another user's file in a shared folder: still usable
            pass
        return loaded

    def _save(self, stem: str, data: bytes, out_tree) -> None:
        """Write both files atomically (a reader sees both or neither); best effort. A tree
        that :func:`read_tree` would not read back is not saved (every later load would fail)."""
        try:
            tree_bytes = pickle.dumps(out_tree)
            read_tree(tree_bytes)
            self.folder.mkdir(parents=True, exist_ok=True)
            program, tree = self._paths(stem)
            for path, payload in ((tree, tree_bytes), (program, bytes(data))):
                _write_file(self.folder, path, payload)
        except (OSError, pickle.PicklingError, pickle.UnpicklingError, TypeError, AttributeError):
            self._remove(stem)
            return
        self.prune()

    def prune(self, keep: int = MAX_ON_DISK) -> None:
        """Remove all but the ``keep`` most recently used programs of the folder (programs of
        old code or old shapes otherwise pile up), and temporary files left by a write that
        failed part-way more than ``STALE_TMP_S`` seconds ago; best effort."""
        try:
            programs = sorted(
                self.folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True
            )
            temporaries = list(self.folder.glob(f"{TMP_PREFIX}*"))
        except OSError:
            return
        for program in programs[keep:]:
            self._remove(program.name[: -len(SUFFIX)])
        remove_stale(temporaries)

    def _remove(self, stem: str) -> None:
        for path in self._paths(stem):
            try:
                path.unlink()
            except OSError:
                pass


class ExportedChains:
    """NumPyro's ``chain_method`` that maps its per-chain function over the chains like
    ``jax.pmap`` (one device per chain), through a saved program for cold runs when ``store``
    is given, else by ``jax.pmap`` itself (the same program, traced in this process)."""

    def __init__(self, store: Programs | None):
        self.store = store
        self.last_source = None  # the store's, or "pmap" (the last run's path)

    def __repr__(self) -> str:  # the sampler record and cache keys show "parallel"
        return "parallel"

    def __call__(self, per_chain):
        return functools.partial(self._run, per_chain)

    def _run(self, per_chain, map_args):
        split = _split(per_chain, map_args)
        if split is None:  # a warm run, or NumPyro's internals changed: trace
            self.last_source = "pmap"
            return jax.pmap(per_chain)(map_args)
        body, inputs = split
        if self.store is None:  # the program a saved one is, the data as arguments: the same
            self.last_source = "pmap"  # draws as with the store (as constants, XLA folds them)
            return jax.pmap(body, in_axes=(0, None))(*inputs)
        n_chains = int(np.shape(map_args[0])[0])  # the chains' PRNG keys, (chains, 2)
        out = self.store.call(
            jax.pmap(body, in_axes=(0, None)), inputs, n_devices=n_chains, tag=body.fields
        )
        self.last_source = self.store.last_source
        return out


class OneChain:
    """NumPyro runs a single chain by calling its per-chain function (``MCMC._single_chain_mcmc``)
    directly, never its ``chain_method``: a program compiled otherwise than a map over chains,
    which draws another chain from the same seed. Set as that method on an ``MCMC`` instance
    (:func:`route_one_chain`), this sends every cold one-chain run through
    :class:`ExportedChains` as a map over one chain (leading axis 1 added to the PRNG key,
    removed from the outputs): a saved program when ``store`` is given, else ``jax.pmap``, the
    same draws either way. A warm run (``fit.update``) calls NumPyro's own method."""

    def __init__(self, per_chain_method, store: Programs | None):
        self.per_chain_method = per_chain_method
        self.chains = ExportedChains(store)

    def __call__(self, map_args, **keywords):
        per_chain = functools.partial(self.per_chain_method, **keywords)
        if _split(per_chain, map_args) is None:
            return per_chain(map_args)
        rng_key, init_state, init_params = map_args
        out = self.chains(per_chain)((jnp.expand_dims(rng_key, 0), init_state, init_params))
        return jax.tree.map(lambda x: x[0], out)

    @property
    def last_source(self):
        return self.chains.last_source


def route_one_chain(mcmc, folder: Path | None, key: str | None):
    """``mcmc`` (one chain) with its cold runs mapped over one chain (:class:`OneChain`),
    through a saved program when programs can be saved; unchanged for more chains."""
    if mcmc.num_chains == 1:
        mcmc._single_chain_mcmc = OneChain(mcmc._single_chain_mcmc, programs(folder, key))
    return mcmc


def _split(per_chain, map_args):
    """NumPyro's per-chain function as ``body(map_args, kwargs)`` with the model's keyword
    arguments (the data) made an argument, and the inputs ``(map_args, kwargs)``; None for a
    warm run (a warm-up state or initial values given) or a function of another shape."""
    if not isinstance(per_chain, functools.partial) or per_chain.args:
        return None
    keywords = dict(per_chain.keywords)
    if set(keywords) != {"args", "kwargs", "collect_fields", "remove_sites"} or keywords["args"]:
        return None
    _, init_state, init_params = map_args
    if init_state is not None or init_params is not None:
        return None
    kwargs = keywords.pop("kwargs")
    keywords.pop("args")

    def body(chain_args, model_kwargs):
        return per_chain.func(chain_args, args=(), kwargs=model_kwargs, **keywords)

    # the collected fields shape the outputs: part of the program's identity
    body.fields = (keywords["collect_fields"], keywords["remove_sites"])
    return body, (map_args, kwargs)


def _inputs_digest(leaves: list, in_tree, tag) -> str:
    """The inputs' structure, shapes and dtypes (not values) and the caller's tag: part of a
    program's file name."""
    shapes = [(np.shape(x), str(jnp.result_type(x))) for x in leaves]
    return hashlib.sha256(repr((str(in_tree), shapes, tag)).encode()).hexdigest()[:16]


def _mesh(n_devices: int):
    """The first ``n_devices`` devices, which ``jax.pmap`` of that many chains runs on."""
    return jax.sharding.Mesh(np.array(jax.devices()[:n_devices]), ("devices",))


def _runner(exported):
    """A function of the input leaves that runs an exported program on this process's devices
    (every input replicated, as it was exported), compiled once per process (XLA's own cache
    serves it from disk)."""
    if exported.nr_devices > jax.device_count():
        raise RuntimeError("the program was exported for more devices than this process has")
    mesh = _mesh(exported.nr_devices)
    replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    compiled = jax.jit(exported.call, out_shardings=exported.out_shardings_jax(mesh))

    def run(leaves: list):
        return compiled(*(jax.device_put(x, replicated) for x in leaves))

    return run


def _write_file(folder: Path, path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` through a temporary file in ``folder`` renamed over it (a
    reader sees the old file or the new one, never part of one), created with the permissions
    of any new file (0o666 less the umask: users sharing the folder can read it; mkstemp's 0600
    made another user's load fail and remove it); the temporary file is removed if the write
    fails."""
    replace_file(folder, path, lambda handle: handle.write(payload))


# The globals a pickled output tree may name (pickletools.dis of the trees a fit saves): the
# tree class (jaxlib's; its module moves between versions), JAX's registry of node types, and
# the named tuples NumPyro's sampler state is made of (HMCState, HMCAdaptState, ...). A call in
# a .tree (os.system, builtins.eval) names another global: the file is refused, as corrupt.
TREE_CLASS = ("PyTreeDef", ("jax", "jaxlib"))  # name, top-level packages of its module
TREE_GLOBALS = frozenset({("jax._src.tree_util", "default_registry")})
STATE_PACKAGES = ("numpyro",)  # top-level packages whose named tuples may be tree nodes


class _TreeUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals of a JAX tree of NumPyro's sampler state."""

    def find_class(self, module: str, name: str):
        package = module.split(".")[0]
        if (module, name) in TREE_GLOBALS:
            return super().find_class(module, name)
        if name == TREE_CLASS[0] and package in TREE_CLASS[1]:
            found = super().find_class(module, name)
            if found is jax.tree_util.PyTreeDef:
                return found
        elif package in STATE_PACKAGES and "." not in name:
            found = super().find_class(module, name)
            if _is_named_tuple(found):
                return found
        raise pickle.UnpicklingError(f"a program's output tree may not name {module}.{name}")


def _is_named_tuple(found) -> bool:
    """Whether ``found`` is a named-tuple class (constructing one runs no code of its own)."""
    return isinstance(found, type) and issubclass(found, tuple) and "_fields" in vars(found)


def read_tree(data: bytes) -> jax.tree_util.PyTreeDef:
    """The JAX tree pickled in ``data`` (a ``.tree`` file's bytes), resolving only the globals
    such a tree needs (:class:`_TreeUnpickler`); :class:`pickle.UnpicklingError` for any other
    global or for a pickle of anything but a tree."""
    tree = _TreeUnpickler(io.BytesIO(data)).load()
    if not isinstance(tree, jax.tree_util.PyTreeDef):
        raise pickle.UnpicklingError(f"a program's output tree is a {type(tree).__name__}")
    return tree


def _remember(stem: str, loaded: tuple) -> None:
    """Keep a program's runner in this process (a repeated fit of one shape: no reload)."""
    _LOADED[stem] = loaded
    _LOADED.move_to_end(stem)
    while len(_LOADED) > MAX_LOADED:
        _LOADED.popitem(last=False)
