"""`zhongshu worker` with the test platform "zstest" registered (its connector lives in the tests)."""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhongshu.settings")
django.setup()

import tests.integration.channels.fake_platform  # noqa: E402,F401  (registers the zstest connector)
from zhongshu.cli import main  # noqa: E402

sys.argv = ["zhongshu", "worker", "--workers", "2"]
sys.exit(main())
