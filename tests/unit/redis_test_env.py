"""Where the `redis` tests find the machine's Redis, and how long they wait on it."""

from __future__ import annotations

import os

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
WAIT_S = 3.0
NO_REDIS = "no Redis at {url}: set TEST_REDIS_URL, or deselect with -m 'not redis'"
