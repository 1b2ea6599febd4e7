"""`make run`'s worked example: a real course on a real SQLite record, with its plot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_example_runs_a_whole_course(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "b12", "example", "--folder", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    status = data["status"]
    assert status["patient"] == "DEMO-0001"
    assert 10 <= status["given"] < status["planned"]
    assert status["overdue"] == []
    assert data["audit"]["intact"] is True
    codes = {f["code"] for f in status["findings"]}
    assert "RETIC_RISING" in codes
    plot = Path(data["plot"])
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    doses = next(s for s in data["steps"] if s["step"] == "doses")["result"]
    assert sum(1 for d in doses if "recorded" not in d) == 1  # the one missed dose
