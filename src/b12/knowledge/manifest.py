"""The manifest of a knowledge folder: the sha256 of every YAML file (and of the shipped artifact).

``make kb-manifest`` (``b12.knowledge.build``) writes it with the artifact; ``write_manifest`` alone
rehashes a folder's YAML (a folder given with ``--kb`` is validated whenever it is loaded).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from b12.knowledge.base import (
    ARTIFACT,
    INVENTORY_DIR,
    MANIFEST,
    content_hash,
    read_manifest,
)


def knowledge_files(root: Path) -> list[str]:
    """Every YAML file of the knowledge base, as manifest names."""
    names = [p.name for p in root.glob("*.yaml")]
    names += [f"{INVENTORY_DIR}/{p.name}" for p in (root / INVENTORY_DIR).glob("*.yaml")]
    return sorted(names)


def write_manifest(root: Path, version: str | None = None, artifact: str | None = None) -> str:
    """Hash every knowledge file in ``root`` into its manifest; returns the content hash.

    ``artifact`` is the sha256 of the artifact built from these files (only ``build`` knows it).
    """
    old = read_manifest(root) if (root / MANIFEST).exists() else {"version": "0.0.0"}
    raw = {name: (root / name).read_bytes() for name in knowledge_files(root)}
    digest = content_hash(raw)
    lines = [
        "# The knowledge base manifest: its version and the sha256 of every file.",
        "# Written by `make kb-manifest` after a reviewed edit; the loader refuses a file that",
        "# no longer matches its hash. The fingerprint outputs carry is version+content_hash[:12].",
        f'version = "{version or old["version"]}"',
        f'content_hash = "{digest}"',
        *([f'artifact = "{artifact}"  # sha256 of {ARTIFACT}'] if artifact else []),
        "",
        "[files]",
        *(f'"{name}" = "{hashlib.sha256(data).hexdigest()}"' for name, data in raw.items()),
        "",
    ]
    (root / MANIFEST).write_text("\n".join(lines), encoding="utf-8")
    return digest


if __name__ == "__main__":  # as `make kb-manifest` was once spelled: the whole build
    from b12.knowledge.build import main

    main(sys.argv[1:])
