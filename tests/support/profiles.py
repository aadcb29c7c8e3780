"""Hypothesis profiles: ``ci`` is thorough (the README's test command sets it), ``dev`` is quick.

``HYPOTHESIS_PROFILE`` chooses; without it, tests run the quick profile for the edit-test loop.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.register_profile("ci", _COMMON, print_blob=True)
settings.register_profile("dev", _COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
settings.load_profile(PROFILE)


def examples(thorough: int) -> int:
    """``thorough`` examples under the ``ci`` profile; a twentieth (at least 25) otherwise."""
    return thorough if PROFILE == "ci" else max(25, thorough // 20)
