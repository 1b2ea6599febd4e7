"""The audit trail's hash chains, and what binds the record's rows into them.

Since revision 0006 the trail is a set of streams: one per patient (the patient's id) and one,
``record``, for what concerns no patient. Each link holds its stream, its number in the stream
(``stream_seq``, from 1), the hash of the link before it in the stream, and, when it records a
row, the table and the digest of that row's canonical form (``row_digest``). A link's hash is an
HMAC-SHA256 under a key kept outside the database: whoever can write the database but lacks the
key can change a row, or a link, or re-hash a chain, but cannot make the result verify.

The links written before revision 0006 (no stream) keep their unkeyed sha256 chain
(``link_hash``, over the global ``seq``); revision 0006 seals that prefix with one keyed link in
the ``record`` stream (``SEAL_ACTION``: its count and head) and binds every row recorded before
it with an ``adopt`` link, so nothing older escapes the keyed chains.

``verify_record`` walks every stream, re-reads every record row (``RowDigest``) and reports each
problem: a broken or re-hashed link, a missing link, a row without a link, a link without a row,
a changed row, and against an anchor (``anchor_of``, kept outside the database) a truncated tail
or a rewritten history.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from b12.domain.records import AuditEntry

GENESIS = "0" * 64
#: The stream of the links that concern no patient.
RECORD_STREAM = "record"
#: The link of revision 0006 that seals the unkeyed links written before it.
SEAL_ACTION = "audit-seal-legacy"
#: The link of revision 0006 that binds a row recorded before it.
ADOPT_ACTION = "adopt"
ANCHOR_FORMAT = "b12-audit-anchor-1"
_MAC_DOMAIN = b"b12 audit link v1\n"


#: json.dumps with these arguments makes a new encoder on every call: one, made once.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 as is: the same bytes on every machine and database."""
    return _CANONICAL.encode(value)


# --- the canonical form of a row ----------------------------------------------------------------


def canonical_value(value: Any) -> Any:
    """A database value in one form whatever its column's type: a Decimal as its shortest exact
    text (NUMERIC(12,6) 1000.000000 and text 1000 agree), a datetime as UTC ISO 8601 with
    microseconds (a naive one is UTC, as b12 stores it), a date ISO, JSON with sorted keys."""
    kind = type(value)
    if kind is str or kind is int or value is None:  # most columns, by exact type first
        return value
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "0") else text
    if isinstance(value, float):
        return canonical_value(Decimal(repr(value)))
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return moment.isoformat(timespec="microseconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): canonical_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical_value(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"no canonical form for a {type(value).__name__} column value")


#: The key columns of the record tables whose key is not one ``id`` (a planned dose or check is
#: its prescription's, by number).
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "planned_doses": ("prescription_id", "number"),
    "planned_labs": ("prescription_id", "number"),
}


def row_key(table: str, row: Mapping[Any, Any]) -> str:
    """How a link names a row of ``table``: its id, or its key columns joined by "/"
    ("<prescription id>/3" for the third planned dose)."""
    return "/".join(str(row[c]) for c in ROW_KEYS.get(table, ("id",)))


def row_digest(row: Mapping[Any, Any]) -> str:
    """sha256 of a row's canonical form: every column by name, a NULL one left out (so a column
    added later, NULL in older rows, leaves their digests as they were)."""
    body = {str(k): canonical_value(v) for k, v in row.items() if v is not None}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RowDigest:
    """One row of a record table as read back: its table, id, digest and, for the doubles an older
    b12 let through (revision 0004), the row it doubles."""

    table: str
    id: str
    digest: str
    duplicate_of: str | None = None


# --- links --------------------------------------------------------------------------------------

#: What a legacy (before revision 0006) link's hash covers: every column but the hash itself.
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

#: What a keyed link's MAC covers: every column but the global seq (an order only) and the hash.
KEYED_FIELDS = (
    "stream",
    "stream_seq",
    "at",
    "who",
    "action",
    "entity",
    "entity_id",
    "patient",
    "record_table",
    "row_hash",
    "payload",
    "prev_hash",
)


def link_hash(link: Mapping[str, Any]) -> str:
    """The legacy, unkeyed hash: sha256 of the canonical JSON of LINK_FIELDS."""
    body = {name: link[name] for name in LINK_FIELDS}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def link_message(link: Mapping[str, Any]) -> bytes:
    """The bytes a keyed link's MAC covers."""
    body = {name: link[name] for name in KEYED_FIELDS}
    return canonical_json(body).encode("utf-8")


def link_mac(key: bytes, message: bytes) -> str:
    """HMAC-SHA256 of a link's message under the audit key."""
    return hmac.new(key, _MAC_DOMAIN + message, hashlib.sha256).hexdigest()


def thaw(value: Any) -> Any:
    """Frozen JSON (mapping proxies, tuples) back to plain dicts and lists."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [thaw(v) for v in value]
    return value


def _fields(entry: AuditEntry, names: Iterable[str]) -> dict[str, Any]:
    link = {name: getattr(entry, name) for name in names}
    if "payload" in link:
        link["payload"] = thaw(entry.payload)
    return link


def entry_hash(entry: AuditEntry) -> str:
    """The legacy hash of a link written before revision 0006."""
    return link_hash(_fields(entry, LINK_FIELDS))


def _unkeyed(entry: AuditEntry) -> bool:
    """Whether a link's hash is one anyone can compute without the key."""
    body = link_message(_fields(entry, KEYED_FIELDS))
    plain = (
        hashlib.sha256(body).hexdigest(),
        hashlib.sha256(_MAC_DOMAIN + body).hexdigest(),
        link_hash({**_fields(entry, KEYED_FIELDS), "seq": entry.seq}),
    )
    return entry.hash in plain


# --- the result ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing that does not hold: its kind, a message naming the stream or table and row."""

    kind: str
    message: str
    seq: int | None = None
    table: str | None = None
    row_id: str | None = None
    stream: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "seq": self.seq,
            "table": self.table,
            "row_id": self.row_id,
            "stream": self.stream,
        }


#: The kinds of problem verify_record reports.
PROBLEM_KINDS = (
    "link-missing",  # a stream skips a number: a link was deleted
    "link-broken",  # prev_hash is not the hash of the link before
    "link-changed",  # a link's content does not match its keyed hash (or another key made it)
    "link-rehashed",  # a link's hash is one computed without the key
    "row-without-link",  # a record row no link binds: inserted behind b12's back
    "link-without-row",  # a link binds a row that is not there: deleted or truncated
    "row-changed",  # a row's canonical form is not the one its link holds
    "row-linked-twice",  # two links bind one row
    "legacy-changed",  # the unkeyed links before revision 0006 are not the ones sealed
    "truncated",  # fewer links in a stream than the anchor holds
    "rewritten",  # the anchored link of a stream is not there any more
    "anchor-invalid",  # the anchor file is not one b12 wrote
)


@dataclass(frozen=True)
class ChainCheck:
    """The result of verifying the trail and the record: the links, the rows, each problem, the
    heads of the streams (what an anchor keeps) and the old doubles revision 0004 marked."""

    links: int
    broken_seq: int | None
    problem: str | None
    head: str
    problems: tuple[Problem, ...] = ()
    rows: int = 0
    heads: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    duplicates: tuple[RowDigest, ...] = ()

    @property
    def intact(self) -> bool:
        return not self.problems and self.broken_seq is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "links": self.links,
            "rows": self.rows,
            "streams": len(self.heads),
            "broken_seq": self.broken_seq,
            "problem": self.problem,
            "head": self.head,
            "problems": [p.to_dict() for p in self.problems],
            "known_duplicates": [
                {"table": d.table, "id": d.id, "duplicate_of": d.duplicate_of}
                for d in self.duplicates
            ],
        }


def verify_chain(entries: Iterable[AuditEntry]) -> ChainCheck:
    """Walk legacy (unkeyed, global seq) links in seq order; stop at the first that does not hold."""
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


# --- verifying ----------------------------------------------------------------------------------


def root_of(heads: Mapping[str, tuple[int, str]]) -> str:
    """One hash over every stream's count and head."""
    body = {stream: [count, head] for stream, (count, head) in heads.items()}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def anchor_of(check: ChainCheck) -> dict[str, Any]:
    """What to keep outside the database: each stream's count and head, and their root."""
    return {
        "format": ANCHOR_FORMAT,
        "streams": {s: {"links": n, "head": h} for s, (n, h) in sorted(check.heads.items())},
        "root": root_of(check.heads),
    }


def read_anchor(anchor: Mapping[str, Any]) -> tuple[dict[str, tuple[int, str]], Problem | None]:
    """The heads an anchor holds, or the problem that makes it no anchor."""
    try:
        if anchor.get("format") != ANCHOR_FORMAT:
            raise ValueError
        heads = {
            str(s): (int(v["links"]), str(v["head"])) for s, v in dict(anchor["streams"]).items()
        }
        if root_of(heads) != anchor["root"]:
            return {}, Problem(
                "anchor-invalid",
                "the anchor's root does not match its heads: the anchor file was changed",
            )
    except (AttributeError, KeyError, TypeError, ValueError):
        return {}, Problem("anchor-invalid", f"not an anchor of b12's audit log ({ANCHOR_FORMAT})")
    return heads, None


def verify_record(
    entries: Iterable[AuditEntry],
    rows: Iterable[RowDigest],
    sign: Callable[[bytes], str],
    anchor: Mapping[str, Any] | None = None,
) -> ChainCheck:
    """Every stream's chain under the key (``sign``: the MAC of a link's message), every row
    against the link that binds it, the legacy prefix against its seal, and the heads against
    ``anchor`` when one is given."""
    legacy: list[AuditEntry] = []
    streams: dict[str, list[AuditEntry]] = {}
    count = 0
    for entry in entries:
        count += 1
        if entry.stream is None:
            legacy.append(entry)
        else:
            streams.setdefault(entry.stream, []).append(entry)
    problems: list[Problem] = []
    heads: dict[str, tuple[int, str]] = {}
    bound: dict[tuple[str, str], AuditEntry] = {}
    for stream in sorted(streams):
        links = sorted(streams[stream], key=lambda e: e.stream_seq or 0)
        problems += _walk(stream, links, sign)
        heads[stream] = (links[-1].stream_seq or 0, links[-1].hash)
        for e in links:
            if e.record_table is None:
                continue
            key = (e.record_table, e.entity_id)
            if key in bound:
                problems.append(
                    Problem(
                        "row-linked-twice",
                        f"{e.record_table} row {e.entity_id}: bound by links {bound[key].seq} "
                        f"and {e.seq}",
                        e.seq,
                        e.record_table,
                        e.entity_id,
                        stream,
                    )
                )
            bound[key] = e
    problems += _legacy(legacy, streams.get("record", []))
    seen, duplicates, n_rows = set(), [], 0
    for row in rows:
        n_rows += 1
        key = (row.table, row.id)
        seen.add(key)
        if row.duplicate_of is not None:
            duplicates.append(row)
        link = bound.get(key)
        if link is None:
            problems.append(
                Problem(
                    "row-without-link",
                    f"{row.table} row {row.id} has no audit link (inserted behind b12's back)",
                    None,
                    row.table,
                    row.id,
                )
            )
        elif link.row_hash != row.digest:
            problems.append(
                Problem(
                    "row-changed",
                    f"{row.table} row {row.id} is not the row audit link {link.seq} recorded "
                    "(changed since)",
                    link.seq,
                    row.table,
                    row.id,
                    link.stream,
                )
            )
    for (table, row_id), link in bound.items():
        if (table, row_id) not in seen:
            problems.append(
                Problem(
                    "link-without-row",
                    f"{table} row {row_id}, recorded by audit link {link.seq}, is not in the "
                    "table (deleted)",
                    link.seq,
                    table,
                    row_id,
                    link.stream,
                )
            )
    if anchor is not None:
        problems += _against_anchor(anchor, streams)
    first = next((p for p in problems if p.seq is not None), problems[0] if problems else None)
    return ChainCheck(
        links=count,
        broken_seq=None if first is None else first.seq,
        problem=None if first is None else first.message,
        head=root_of(heads),
        problems=tuple(problems),
        rows=n_rows,
        heads=heads,
        duplicates=tuple(duplicates),
    )


def _walk(stream: str, links: list[AuditEntry], sign: Callable[[bytes], str]) -> list[Problem]:
    out: list[Problem] = []
    prev, expected = GENESIS, 1
    for e in links:
        where = f"stream {stream} link {e.stream_seq} (seq {e.seq})"
        if e.stream_seq != expected:
            out.append(
                Problem(
                    "link-missing",
                    f"{where}: link {expected} was due (a link was deleted)",
                    e.seq,
                    e.record_table,
                    e.entity_id,
                    stream,
                )
            )
        elif e.prev_hash != prev:
            out.append(
                Problem(
                    "link-broken",
                    f"{where}: prev_hash is not the hash of the link before",
                    e.seq,
                    e.record_table,
                    e.entity_id,
                    stream,
                )
            )
        if not hmac.compare_digest(sign(link_message(_fields(e, KEYED_FIELDS))), e.hash):
            kind, why = (
                ("link-rehashed", "its hash was computed without the audit key (a re-hashed chain)")
                if _unkeyed(e)
                else ("link-changed", "its content does not match its keyed hash (changed, or "
                      "hashed with another key)")
            )  # fmt: skip
            out.append(Problem(kind, f"{where}: {why}", e.seq, e.record_table, e.entity_id, stream))
        prev, expected = e.hash, (e.stream_seq or 0) + 1
    return out


def _legacy(legacy: list[AuditEntry], record_stream: list[AuditEntry]) -> list[Problem]:
    """The unkeyed links before revision 0006 against the keyed seal of that revision."""
    seals = [e for e in record_stream if e.action == SEAL_ACTION]
    check = verify_chain(sorted(legacy, key=lambda e: e.seq))
    if not seals:
        if not legacy:
            return []
        return [
            Problem(
                "legacy-changed",
                f"{len(legacy)} unkeyed links and no keyed seal: written behind b12's back",
                legacy[0].seq,
            )
        ]
    sealed = seals[0].payload
    links, head = sealed.get("links"), sealed.get("head")
    out: list[Problem] = []
    if check.broken_seq is not None:
        out.append(
            Problem(
                "legacy-changed",
                f"unkeyed link seq {check.broken_seq}: {check.problem}",
                check.broken_seq,
            )
        )
    elif (check.links, check.head) != (links, head):
        out.append(
            Problem(
                "legacy-changed",
                f"the unkeyed links before revision 0006 are not the ones sealed: {check.links} "
                f"links with head {check.head[:16]}, sealed {links} with head {str(head)[:16]}",
                seals[0].seq,
                stream=RECORD_STREAM,
            )
        )
    return out


def _against_anchor(
    anchor: Mapping[str, Any], streams: Mapping[str, list[AuditEntry]]
) -> list[Problem]:
    heads, invalid = read_anchor(anchor)
    if invalid is not None:
        return [invalid]
    out: list[Problem] = []
    for stream, (n, head) in sorted(heads.items()):
        links = {e.stream_seq or 0: e for e in streams.get(stream, [])}
        have = max(links, default=0)
        if have < n:
            out.append(
                Problem(
                    "truncated",
                    f"stream {stream} has {have} links, the anchor {n}: a truncated tail",
                    stream=stream,
                )
            )
        elif links.get(n) is None or links[n].hash != head:
            at = links.get(n)
            out.append(
                Problem(
                    "rewritten",
                    f"stream {stream} link {n} is not the anchored one: a rewritten history",
                    None if at is None else at.seq,
                    stream=stream,
                )
            )
    return out
