"""The course on one page: what a clinician and the patient take to a visit.

One gathering of the record and the knowledge serves every rendering (the web page, the PDF, the
command line): patient, indication, regimen and its sources, the doses given with site and lot,
missed doses, the results judged with their ranges, the open findings and the conflicts behind
them, the body-store estimate, the knowledge fingerprint and the moment it was printed.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from b12.domain.display import format_mass, format_volume
from b12.domain.findings import Finding
from b12.domain.lab_values import ReferenceRange
from b12.services.body_store import BodyStore, body_store
from b12.services.follow_up import Status, patient_status
from b12.services.ports import UnitOfWork, opens_unit_of_work
from b12.services.record import patient_on

if TYPE_CHECKING:
    from b12.knowledge.base import Knowledge


@dataclass(frozen=True)
class Named:
    """A knowledge entry as the page names it: its id, its name, its sources' titles."""

    id: str
    name: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class DoseGiven:
    number: int | None
    given_at: datetime
    dose: str
    volume: str
    route: str
    site: str
    lot: str
    expiry: str
    given_by: str


@dataclass(frozen=True)
class DoseMissed:
    number: int
    on: date
    kind: str
    reason: str


@dataclass(frozen=True)
class ConflictShown:
    id: str
    claim: str
    followed: str
    positions: tuple[str, ...]


@dataclass(frozen=True)
class CourseSummary:
    code: str
    profile: tuple[tuple[str, str], ...]
    printed_at: datetime
    indication: Named | None
    regimen: Named | None
    product: Named | None
    prescribed: str  # from when, by whom; or that there is no active prescription
    prescribed_fingerprint: str | None
    fingerprint: str
    planned: int
    next_due: date | None
    doses: tuple[DoseGiven, ...]
    missed: tuple[DoseMissed, ...]
    results: tuple[dict[str, Any], ...]
    findings: tuple[Finding, ...]
    conflicts: tuple[ConflictShown, ...]
    store: BodyStore
    status: Status  # what the charts are drawn from

    def to_dict(self) -> dict[str, Any]:
        def named(n: Named | None) -> dict[str, Any] | None:
            return None if n is None else {"id": n.id, "name": n.name, "sources": list(n.sources)}

        return {
            "patient": self.code,
            "profile": dict(self.profile),
            "printed_at": self.printed_at.isoformat(timespec="minutes"),
            "indication": named(self.indication),
            "regimen": named(self.regimen),
            "product": named(self.product),
            "prescribed": self.prescribed,
            "prescribed_fingerprint": self.prescribed_fingerprint,
            "fingerprint": self.fingerprint,
            "planned": self.planned,
            "next_due": None if self.next_due is None else self.next_due.isoformat(),
            "doses_given": [
                {
                    "number": d.number,
                    "given_at": d.given_at.isoformat(timespec="minutes"),
                    "dose": d.dose,
                    "volume": d.volume,
                    "route": d.route,
                    "site": d.site,
                    "lot": d.lot,
                    "expiry": d.expiry,
                    "given_by": d.given_by,
                }
                for d in self.doses
            ],
            "doses_missed": [
                {"number": m.number, "on": m.on.isoformat(), "kind": m.kind, "reason": m.reason}
                for m in self.missed
            ],
            "results": list(self.results),
            "findings": [f.to_dict() for f in self.findings],
            "conflicts": [
                {
                    "id": c.id,
                    "claim": c.claim,
                    "followed": c.followed,
                    "positions": list(c.positions),
                }
                for c in self.conflicts
            ],
            "body_store": self.store.to_dict(),
        }


def _named(kb: Knowledge, collection: str, entry_id: str | None, label: str) -> Named | None:
    if entry_id is None:
        return None
    entries = kb.all(collection)
    if entry_id not in entries:  # kept by an older knowledge: shown as recorded
        return Named(entry_id, entry_id, ())
    entry = entries[entry_id]
    titles = tuple(kb.sources[s].title for s in entry.sources if s in kb.sources)
    return Named(entry_id, str(getattr(entry, label)), titles)


def _entry_conflict(kb: Knowledge, collection: str, entry_id: str | None) -> str | None:
    if not entry_id or entry_id not in kb.all(collection):
        return None
    conflict: str | None = kb.get(collection, entry_id).conflict
    return conflict


def _conflicts(kb: Knowledge, ids: Sequence[str]) -> tuple[ConflictShown, ...]:
    known = kb.all("conflicts")
    out = []
    for cid in dict.fromkeys(ids):
        if cid not in known:
            continue
        c = known[cid]
        positions = tuple(
            f"{p.says} ({', '.join(p.sources)})" + (" [followed]" if p.id == c.default else "")
            for p in c.positions
        )
        followed = next(p.says for p in c.positions if p.id == c.default)
        out.append(ConflictShown(cid, c.claim, followed, positions))
    return tuple(out)


def _profile(status: Status) -> tuple[tuple[str, str], ...]:
    p = patient_on(status.patient, status.on)
    rows: list[tuple[str, str]] = []
    if p.age_months is not None:
        years, months = divmod(int(p.age_months), 12)
        rows.append(("age", f"{years} y" + (f" {months} m" if years < 2 and months else "")))
    for key in ("sex", "weight_kg"):
        value = status.patient.profile.get(key)
        if value is not None:
            rows.append((key.replace("_", " "), str(value)))
    for key in ("conditions", "medications", "allergies"):
        values = status.patient.profile.get(key) or ()
        if values:
            rows.append((key, ", ".join(str(v) for v in values)))
    return tuple(rows)


@opens_unit_of_work
def course_summary(
    uow: UnitOfWork,
    code: str,
    now: datetime,
    kb: Knowledge,
    ranges: Sequence[ReferenceRange] = (),
) -> CourseSummary:
    """The summary of patient ``code`` as of ``now`` (the moment printed on it)."""
    status: Status = inspect.unwrap(patient_status)(uow, code, now.date(), kb, ranges)
    return summarise(kb, status, now)


def summarise(kb: Knowledge, status: Status, now: datetime) -> CourseSummary:
    """The summary from a status already read (the web door reads it in its audited read)."""
    rx = status.prescription
    regimen = _named(kb, "regimens", rx.regimen_id if rx else None, "title")
    indication = _named(kb, "indications", rx.indication if rx else None, "name")
    product = _named(kb, "products", rx.product if rx else None, "name")
    if product is None and rx is not None and rx.concentration:
        product = Named("", rx.concentration, ())
    doses = tuple(
        DoseGiven(
            c.planned.number,
            g.given_at,
            format_mass(g.dose_mcg),
            "" if g.volume_ml is None else format_volume(g.volume_ml),
            g.route,
            g.site or "",
            g.lot or "",
            "" if g.expiry is None else g.expiry.isoformat(),
            g.given_by,
        )
        for c in status.course
        if (g := c.given) is not None
    )
    missed = tuple(
        DoseMissed(m.planned_number, m.on, m.kind, m.reason)
        for c in status.course
        for m in c.misses
    )
    owed = [c for c in status.course if c.state != "given"]
    # The conflicts the findings name, and those behind the regimen, indication and product.
    conflict_ids = [f.conflict for f in status.findings if f.conflict]
    behind = (("regimens", rx.regimen_id), ("indications", rx.indication)) if rx else ()
    for collection, entry_id in behind:
        conflict = _entry_conflict(kb, collection, entry_id)
        if conflict:
            conflict_ids.append(conflict)
    if rx is not None:
        refs = {f"regimens:{rx.regimen_id}", f"indications:{rx.indication}"}
        refs |= {f"products:{rx.product}"} if rx.product else set()
        conflict_ids += [
            c.id
            for c in kb.all("conflicts").values()
            if any(refs.intersection(p.entries) for p in c.positions)
        ]
    if rx is None:
        prescribed = "No active prescription."
    else:
        prescribed = (
            f"Prescribed {rx.prescribed_at.isoformat(timespec='minutes')} by {rx.prescribed_by}, "
            f"first dose {rx.start.isoformat()}"
        )
    return CourseSummary(
        code=status.patient.code,
        profile=_profile(status),
        printed_at=now,
        indication=indication,
        regimen=regimen,
        product=product,
        prescribed=prescribed,
        prescribed_fingerprint=rx.fingerprint if rx else None,
        fingerprint=kb.fingerprint,
        planned=len(status.course),
        next_due=owed[0].due if owed else None,
        doses=doses,
        missed=missed,
        results=status.results,
        findings=status.findings,
        conflicts=_conflicts(kb, conflict_ids),
        store=body_store(kb, status, now),
        status=status,
    )
