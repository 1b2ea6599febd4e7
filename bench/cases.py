"""The benchmarks `make bench` runs, each with its budget from the quality bars."""

from __future__ import annotations

from collections.abc import Callable

from bench.run import BIN, report, wall


def knowledge_cold_load() -> bool:
    code = "import b12; b12.load_knowledge()"
    return report(
        "knowledge base cold load (fresh process)",
        wall([str(BIN / "python"), "-c", code]),
        None,
        "ms",
    )


def cli_list_cold_start() -> bool:
    return report(
        "CLI cold start: b12 sources --json",
        wall([str(BIN / "b12"), "sources", "--json"]),
        None,
        "ms",
    )


ALL: list[Callable[[], bool]] = [knowledge_cold_load, cli_list_cold_start]
