"""Shared test settings: hypothesis profile sized for a 2-core CI machine."""
import os
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def seeded():
    """Seed Python's and numpy's global generators (what DEAP operators use)."""
    random.seed(12345)
    np.random.seed(12345)
