"""The package's on/off environment flags (``BAYESLAWS_QUIET``, ``BAYESLAWS_DEBUG``), read one
way: unset, empty, ``0``, ``false``, ``no`` or ``off`` (any case, spaces stripped) is off;
``1``, ``true``, ``yes`` or ``on`` is on; any other value is warned once, naming the variable
and its value, and read as off. ``BAYESLAWS_COMPILATION_CACHE`` takes the same words (on: the
default folder) or a folder (:mod:`bayeslaws.inference.compilation`)."""

from __future__ import annotations

import os

from .warn import warn_user

ON_WORDS = ("1", "true", "yes", "on")
OFF_WORDS = ("0", "false", "no", "off")  # and unset or empty
_warned: set = set()  # (name, value) pairs already warned in this process


def flag_word(value: str | None) -> bool | None:
    """``value`` read as a switch: True for an on-word, False for an off-word, unset (None) or
    blank, None for anything else."""
    word = (value or "").strip().lower()
    if word in ON_WORDS:
        return True
    if not word or word in OFF_WORDS:
        return False
    return None


def flag(name: str) -> bool:
    """Whether the environment variable ``name`` is switched on (:func:`flag_word`); a value
    that is neither on nor off is warned (once per value) and read as off."""
    value = os.environ.get(name)
    switch = flag_word(value)
    if switch is None:
        if (name, value) not in _warned:
            _warned.add((name, value))
            warn_user(
                f"{name}={value!r} is neither on ({', '.join(ON_WORDS)}) nor off "
                f"({', '.join(OFF_WORDS)}, or empty): read as off",
                UserWarning,
            )
        return False
    return switch
