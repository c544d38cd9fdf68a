"""Fixtures of the channel tests."""

import pytest


@pytest.fixture(scope="module")
def platform(request):
    """One running double for all tests of a module, of the module's `DOUBLE` class."""
    with request.module.DOUBLE() as double:
        yield double


@pytest.fixture
def double(platform):
    """The module's platform double with nothing left from an earlier test (one server serves the
    whole module: each shutdown waits out a 0.5 s poll)."""
    platform.reset()
    return platform


@pytest.fixture
def staff(client, admin_user):
    """The test client, logged in as a superuser."""
    client.force_login(admin_user)
    return client
