"""Hypothesis profiles, chosen with ``HYPOTHESIS_PROFILE`` (see ``tests/profiles.py``)."""

from tests.profiles import load

load()
