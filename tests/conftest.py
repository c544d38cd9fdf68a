"""Shared fixtures; the environment of the test run is set in tests/settings.py."""

import pytest
from django.utils import translation

from tests.factories import *  # noqa: F401,F403  (fixtures)


@pytest.fixture
def on_postgres(settings) -> bool:
    return "postgresql" in settings.DATABASES["default"]["ENGINE"]


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: the locale middleware leaves the last request's
    language active in the thread, which would leak an English test's language into the next test."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_push_lookups():
    """The push receiver keeps shops and SKU codes per process for a few seconds
    (channels/pushcache.py); a test's rolled-back rows must not be known to the next test."""
    from zhongshu.channels import pushcache

    pushcache.clear()
    yield
