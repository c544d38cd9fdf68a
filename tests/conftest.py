"""Shared fixtures; the environment of the test run is set in tests/settings.py."""

import pytest

from tests.factories import *  # noqa: F401,F403  (fixtures)


@pytest.fixture
def on_postgres(settings) -> bool:
    return "postgresql" in settings.DATABASES["default"]["ENGINE"]
