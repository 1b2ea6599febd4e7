"""Test-wide settings: the user's config folder (where the default audit key lives) is a private
folder of the test run, so no test reads or creates a key in the real one."""

from __future__ import annotations

import os
import tempfile

os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="b12-test-config-")
