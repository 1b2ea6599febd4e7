"""The App a command runs on, built from its options (arguments > environment > defaults)."""

from __future__ import annotations

from b12.bootstrap import App, Settings, build


def open_app(db: str | None = None, kb: str | None = None) -> App:
    """The App of a command's options, built once per call."""
    return build(Settings.read(database_url=db, knowledge_dir=kb))
