"""Which variant of the package is loaded: pure Python, or its hot modules compiled by mypyc.

``COMPILED`` names the modules the optional build compiles (``hatch_build.py`` reads this tuple;
README "Compiled speed-up"). A compiled module is an extension module beside its ``.py``
source, which Python's import system prefers; anything else means the pure-Python variant.
"""

from __future__ import annotations

import importlib
from importlib.machinery import EXTENSION_SUFFIXES

COMPILED = (
    "tiktok_destination.transform.assembly",
    "tiktok_destination.expressions",
    "tiktok_destination.transform.hashing",
    "tiktok_destination.transform.object_reads",
    "tiktok_destination.outcomes",
    "tiktok_destination.transform.phones",
    "tiktok_destination.transform.properties",
    "tiktok_destination.quoting",
    "tiktok_destination.transform.readers",
    "tiktok_destination.transform.sections",
    "tiktok_destination.transform.event",
    "tiktok_destination.transform.values",
)


def compiled_modules() -> list[str]:
    """The modules of ``COMPILED`` that were loaded from an extension module."""
    loaded = [importlib.import_module(name) for name in COMPILED]
    return [
        module.__name__
        for module in loaded
        if (module.__file__ or "").endswith(tuple(EXTENSION_SUFFIXES))
    ]


def compiled_with_mypyc() -> bool:
    """True when every module of ``COMPILED`` is the compiled one."""
    return len(compiled_modules()) == len(COMPILED)


def describe() -> str:
    """What ``--version`` adds: ``compiled with mypyc``, ``pure Python`` or what is between."""
    count = len(compiled_modules())
    if count == len(COMPILED):
        return "compiled with mypyc"
    return f"{count} of {len(COMPILED)} modules compiled with mypyc" if count else "pure Python"
