"""Rewrite the manifest's hashes after a reviewed edit: ``python -m b12.knowledge.manifest [DIR]``."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from b12.knowledge.loader import DEFAULT_PATH, INVENTORY_DIR, MANIFEST, content_hash, read_manifest


def knowledge_files(root: Path) -> list[str]:
    """Every YAML file of the knowledge base, as manifest names."""
    names = [p.name for p in root.glob("*.yaml")]
    names += [f"{INVENTORY_DIR}/{p.name}" for p in (root / INVENTORY_DIR).glob("*.yaml")]
    return sorted(names)


def write_manifest(root: Path, version: str | None = None) -> str:
    """Hash every knowledge file in ``root`` into its manifest; returns the content hash."""
    old = read_manifest(root) if (root / MANIFEST).exists() else {"version": "0.0.0"}
    raw = {name: (root / name).read_bytes() for name in knowledge_files(root)}
    digest = content_hash(raw)
    lines = [
        "# The knowledge base manifest: its version and the sha256 of every file.",
        "# Written by `make kb-manifest` after a reviewed edit; the loader refuses a file that",
        "# no longer matches its hash. The fingerprint outputs carry is version+content_hash[:12].",
        f'version = "{version or old["version"]}"',
        f'content_hash = "{digest}"',
        "",
        "[files]",
        *(f'"{name}" = "{hashlib.sha256(data).hexdigest()}"' for name, data in raw.items()),
        "",
    ]
    (root / MANIFEST).write_text("\n".join(lines), encoding="utf-8")
    return digest


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else DEFAULT_PATH
    print(f"{root / MANIFEST}: content_hash {write_manifest(root)}")


if __name__ == "__main__":
    main()
