"""Fixtures for the query tests."""

from __future__ import annotations

import pytest
from query_factories import zoo_experiments

from mled.entities import Experiment


@pytest.fixture
def zoo() -> list[Experiment]:
    """A small, hand-made set of experiments that exercises every rule of the language."""
    return zoo_experiments()
