"""The audit key: 32 random bytes, hex, in a file outside the database, readable by its owner only.

Whoever can write the database but not read this file cannot forge a link that verifies. The
default file is ``audit.key`` in the user's config folder; B12_AUDIT_KEY_FILE names another (a
deployment keeps it where the database's administrators cannot read it). `b12 db upgrade`
creates it, mode 0600 in a 0700 folder, when it is absent; nothing else does.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from b12.errors import AuditKeyError

KEY_BYTES = 32


def default_key_file() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("b12")) / "audit.key"


def read_key(path: Path) -> bytes:
    """The key in ``path``; refused when absent, malformed, or readable by others."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise AuditKeyError(
            f"no audit key at {path}: `b12 db upgrade` creates one, or set B12_AUDIT_KEY_FILE "
            "to the key this record was written with"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditKeyError(
            f"the audit key {path} cannot be read: {exc.__class__.__name__}"
        ) from None
    if os.name == "posix" and mode & 0o077:
        raise AuditKeyError(
            f"the audit key {path} is open to other users (mode {mode & 0o777:o}): "
            f"run `chmod 600 {path}`"
        )
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise AuditKeyError(
            f"the audit key {path} is not {KEY_BYTES * 2} hexadecimal digits; restore the key "
            "this record was written with"
        )
    return key


def ensure_key(path: Path) -> bool:
    """Create a new key in ``path`` (mode 0600) when there is none; True when created."""
    if path.exists():
        read_key(path)  # a present key must be a good one
        return False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another upgrade made it first
        read_key(path)
        return False
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(KEY_BYTES) + "\n")
        out.flush()
        os.fsync(out.fileno())
    return True
