"""Test-wide settings: a private knowledge cache, so tests never read or fill the user's."""

from __future__ import annotations

import os
import tempfile

os.environ["B12_CACHE_DIR"] = tempfile.mkdtemp(prefix="b12-test-cache-")
