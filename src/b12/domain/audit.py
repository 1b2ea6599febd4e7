"""The audit trail's hash chain: each link hashes its own content with the hash before it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from b12.domain.records import AuditEntry

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 as is: the same bytes on every machine and database."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


#: What a link's hash covers: every column of the link but the hash itself.
LINK_FIELDS = (
    "seq",
    "at",
    "who",
    "action",
    "entity",
    "entity_id",
    "patient",
    "payload",
    "prev_hash",
)


def link_hash(link: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of the link's fields, prev_hash included."""
    body = {name: link[name] for name in LINK_FIELDS}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def thaw(value: Any) -> Any:
    """Frozen JSON (mapping proxies, tuples) back to plain dicts and lists."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [thaw(v) for v in value]
    return value


def entry_hash(entry: AuditEntry) -> str:
    link = {name: getattr(entry, name) for name in LINK_FIELDS}
    return link_hash({**link, "payload": thaw(entry.payload)})


@dataclass(frozen=True)
class ChainCheck:
    """The result of walking the chain: how many links, and the first broken one."""

    links: int
    broken_seq: int | None
    problem: str | None
    head: str

    @property
    def intact(self) -> bool:
        return self.broken_seq is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "links": self.links,
            "broken_seq": self.broken_seq,
            "problem": self.problem,
            "head": self.head,
        }


def verify_chain(entries: Iterable[AuditEntry]) -> ChainCheck:
    """Walk the links in seq order; stop at the first that does not hold."""
    prev, expected_seq, count = GENESIS, 1, 0
    for entry in entries:
        count += 1
        if entry.seq != expected_seq:
            return ChainCheck(
                count,
                entry.seq,
                f"seq {entry.seq} where {expected_seq} was due (a link is missing)",
                prev,
            )
        if entry.prev_hash != prev:
            return ChainCheck(
                count, entry.seq, "prev_hash does not match the hash of the link before", prev
            )
        if entry_hash(entry) != entry.hash:
            return ChainCheck(
                count, entry.seq, "the content does not match its hash (the row was changed)", prev
            )
        prev, expected_seq = entry.hash, expected_seq + 1
    return ChainCheck(count, None, None, prev)
