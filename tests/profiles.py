"""Hypothesis profiles for the suite, chosen with the environment variable ``HYPOTHESIS_PROFILE``:

- ``ci`` (the default, what CI and the README's test command run): the number of examples
  each test names;
- ``thorough``: ten times as many, for a search before a release
  (``HYPOTHESIS_PROFILE=thorough python -m pytest -m "not slow" -k "unseen or any_family"``);
- ``dev``: a fifth as many, for a quick loop while editing.

Every profile has no deadline (a first call compiles, which takes what it takes) and prints the
reproduction blob of a failure. A test names its examples as ``examples(40)``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SCALES = {"ci": 1.0, "thorough": 10.0, "dev": 0.2}
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if PROFILE not in SCALES:
    raise ValueError(f"HYPOTHESIS_PROFILE={PROFILE!r}: expected one of {sorted(SCALES)}")


def load() -> None:
    for name in SCALES:
        settings.register_profile(name, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                                  print_blob=True)
    settings.load_profile(PROFILE)


def examples(n: int) -> int:
    """The number of examples of a test that names ``n`` for the ``ci`` profile."""
    return max(1, round(n * SCALES[PROFILE]))
