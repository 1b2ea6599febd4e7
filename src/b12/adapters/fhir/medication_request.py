"""A b12 prescription as a FHIR R4 MedicationRequest, and a MedicationRequest read as an order.

The public reading, for every door that receives an order from an EHR (``b12 fhir import``,
``/fhir/r4``, a CDS Hooks draft order)::

    read_medication_request(resource: Mapping[str, Any], kb: Knowledge) -> MedicationOrder

``resource`` is the MedicationRequest as JSON data, read with ``b12.adapters.fhir.jsonio.loads``
(every decimal a Decimal: a binary float is refused, never rounded). The result keeps what the
order says, as b12's use cases take it:

* ``substance`` ("cyanocobalamin", "hydroxocobalamin", ...) and, when coded, ``product`` (a
  knowledge id) or ``concentration`` (from an NDC's strength);
* ``phases``: one ``OrderedPhase`` per Dosage, in ``sequence`` order, each with its ``dose`` as a
  ``ParsedDose`` in the unit sent (a "1000 mg" order stays 1000 mg, so the dosing service's
  mg/mcg slip check fires), its ``route`` (a b12 route id), and its ``timing`` (frequency, period,
  period unit, count, start, end, days of the week, dated events);
* ``indication`` (a knowledge id, from ``reasonCode``: b12's code, ICD-10 or the text) and
  ``reasons``: the ``reasonReference`` references, which b12 cannot read without the resource;
* ``patient``: the subject's id ("Patient/P-0001" -> "P-0001"); ``regimen``: b12's regimen id
  when b12 wrote the order; ``unread``: codings of systems b12 does not read (RxNorm, ...), each
  said, never dropped.

``order.dose_requests(patient)`` gives one ``DoseRequest`` per phase for
``b12.services.dosing.calculate_dose``; ``order.plan_request(patient)`` the ``PlanRequest`` for
``b12.services.planning.plan_therapy`` and ``b12.services.record.prescribe``.

What cannot be read raises ``FhirReadError`` (an ``InputError``: HTTP 422, exit 2), whose ``path``
names the element and whose message says what to send instead: a missing dose, a unit that is
not a mass, a code b12 does not know in a system it reads, a timing b12 cannot date.

``medication_request(prescription, patient_code, plan)`` writes the other way: one Dosage per
phase (one per step of an escalating phase), the dose as UCUM ``ug`` shown ``mcg``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from b12.adapters.fhir import codes
from b12.adapters.fhir.reading import (
    FhirReadError,
    contained_medication,
    decimal,
    fhir_date,
    items,
    mapping,
    need,
    optional_text,
    positive_int,
    read_status,
    reference_id,
    resource_of,
    text,
    unread_extension,
)
from b12.domain.dose_input import ParsedDose, parse_concentration, parse_dose
from b12.domain.findings import distinct
from b12.domain.patient import Patient
from b12.domain.quantity import Concentration
from b12.domain.records import PlannedDose, Prescription
from b12.domain.routes import ROUTES, parse_route
from b12.errors import InputError

if TYPE_CHECKING:
    from b12.domain.findings import Finding
    from b12.knowledge.base import Knowledge
    from b12.services.dosing import DoseRequest
    from b12.services.planning import PlanRequest

__all__ = [
    "MedicationOrder",
    "OrderedPhase",
    "OrderedTiming",
    "medication_request",
    "planned_doses",
    "read_medication",
    "read_medication_request",
    "read_volume",
    "require_prescribable",
]

_STRENGTH = re.compile(
    r"[0-9][0-9.,]*\s*(?:mcg|micrograms?|µg|ug|mg)\s*(?:/|per)\s*[0-9.]*\s*ml", re.I
)
SUBSTANCES = ("cyanocobalamin", "hydroxocobalamin", "methylcobalamin")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
STATUSES = frozenset(
    (
        "active",
        "on-hold",
        "cancelled",
        "completed",
        "entered-in-error",
        "stopped",
        "draft",
        "unknown",
    )
)
#: MedicationRequest.intent (FHIR R4), all of them: only an actual order is prescribed.
INTENTS = frozenset(
    (
        "proposal",
        "plan",
        "order",
        "original-order",
        "reflex-order",
        "filler-order",
        "instance-order",
        "option",
    )
)
#: What b12 records as a prescription: an order in force (a proposal, a plan or an option is no
#: authorisation to give; a filler's or reflex order is another system's, not the prescriber's).
PRESCRIBED_STATUSES = ("active",)
ORDER_INTENTS = ("order", "original-order", "instance-order")


@dataclass(frozen=True)
class OrderedTiming:
    """``Dosage.timing`` as read: ``frequency`` times per ``period`` ``period_unit`` (UCUM: h, d,
    wk, mo, a), ``count`` doses (None: no end given), the bounds, the days of the week, and the
    dated ``events`` when the order lists them."""

    frequency: int | None = None
    period: Decimal | None = None
    period_unit: str | None = None
    count: int | None = None
    start: date | None = None
    end: date | None = None
    days_of_week: tuple[str, ...] = ()
    events: tuple[date, ...] = ()


@dataclass(frozen=True)
class OrderedPhase:
    """One Dosage: a dose (as sent), a route id and a timing."""

    sequence: int | None
    text: str | None
    dose: ParsedDose
    route: str | None
    timing: OrderedTiming
    volume_ml: Decimal | None = None  # a calculated volume b12 wrote beside the dose
    phase_kind: str | None = None  # loading, maintenance ... when b12 wrote the order
    path: str = ""  # the Dosage's FHIR path, for messages


@dataclass(frozen=True)
class MedicationOrder:
    """A MedicationRequest as b12's use cases take it (see the module's docstring)."""

    id: str | None
    status: str
    intent: str
    patient: str | None
    substance: str
    product: str | None
    concentration: Concentration | None
    phases: tuple[OrderedPhase, ...]
    indication: str | None
    indication_text: str | None = None
    reasons: tuple[str, ...] = ()  # reasonReference references, not read
    regimen: str | None = None
    months: int | None = None
    unread: tuple[str, ...] = field(default_factory=tuple)
    do_not_perform: bool = False  # doNotPerform: an order NOT to give the medicine
    # Dosage elements b12 does not read (a rate, a maximum, as needed ...): a review may go on
    # without them, a prescription may not (require_prescribable refuses them)
    unread_dosage: tuple[str, ...] = ()

    @property
    def start(self) -> date | None:
        """The first dose's day: the first phase's bounds start, else its first event."""
        for phase in self.phases:
            if phase.timing.start is not None:
                return phase.timing.start
            if phase.timing.events:
                return phase.timing.events[0]
        return None

    def dose_requests(self, patient: Patient | None = None) -> tuple[DoseRequest, ...]:
        """One dose check per phase (the same dose and route once), for ``calculate_dose``."""
        from b12.services.dosing import DoseRequest

        out: dict[tuple[Decimal, str, str | None], DoseRequest] = {}
        for phase in self.phases:
            key = (phase.dose.mass.mcg, phase.dose.unit_written, phase.route)
            out.setdefault(
                key,
                DoseRequest(
                    phase.dose,
                    self.product,
                    None if self.product else self.concentration,
                    phase.route,
                    indication=self.indication,
                    patient=patient or Patient(),
                    substance=None if self.product else self.substance,
                ),
            )
        return tuple(out.values())

    def check(self, kb: Knowledge, patient: Patient | None = None) -> tuple[Finding, ...]:
        """Every phase's dose checked as the dose command checks it (mg/mcg slip, implausible
        dose, the indication's range, route, volume). Without a product or strength the volume
        is not calculated: the dose and route checks still run."""
        from b12.services.dose_checks import indication_range, plausibility
        from b12.services.dosing import calculate_dose
        from b12.services.patient_groups import population_of

        out: list[Finding] = []
        for request in self.dose_requests(patient):
            if request.product or request.concentration:
                out += calculate_dose(kb, request).findings
                continue
            mass = request.dose.mass
            out += plausibility(kb, mass, slip_possible=True, route=request.route or "IM")
            if request.indication:
                out += indication_range(
                    kb, request.indication, mass, population_of(request.patient)
                )
        return distinct(out)

    def plan_request(
        self, patient: Patient | None = None, months: int | None = None
    ) -> PlanRequest:
        """The plan this order asks for: its start, indication, regimen (when b12 named one),
        product or strength, for ``months`` (default: the order's own horizon, else 12)."""
        from b12.services.planning import PlanRequest

        start = self.start
        if start is None:
            raise FhirReadError(
                "MedicationRequest.dosageInstruction[0].timing.repeat.boundsPeriod.start",
                "missing: b12 needs the day of the first dose to plan the course",
                field="start",
            )
        if self.indication is None and self.regimen is None:
            raise FhirReadError(
                "MedicationRequest.reasonCode",
                "missing: b12 needs the indication (an ICD-10 code or its name) to choose a "
                "regimen"
                + (
                    f"; the reasonReference {', '.join(self.reasons)} is not read"
                    if self.reasons
                    else ""
                ),
                field="indication",
            )
        return PlanRequest(
            start,
            self.indication,
            self.regimen,
            self.product,
            None if self.product else self.concentration,
            months or self.months or 12,
            neuro=False,
            patient=patient or Patient(),
        )


# --- reading -------------------------------------------------------------------------------------


def read_medication_request(resource: Mapping[str, Any], kb: Knowledge) -> MedicationOrder:
    """A MedicationRequest (JSON data, decimals as Decimal) -> the order b12 checks and plans.

    Raises ``FhirReadError`` naming the element that cannot be read."""
    root = "MedicationRequest"
    resource = resource_of(resource, root)
    status = read_status(
        resource, root, STATUSES, f"unknown status: write one of {', '.join(sorted(STATUSES))}"
    )
    intent = text(need(resource, "intent", root), f"{root}.intent", field="intent")
    if intent not in INTENTS:
        raise FhirReadError(
            f"{root}.intent",
            f"unknown intent {intent!r}: write one of {', '.join(sorted(INTENTS))}",
            field="intent",
        )
    do_not_perform = resource.get("doNotPerform", False)
    if not isinstance(do_not_perform, bool):
        raise FhirReadError(
            f"{root}.doNotPerform",
            f"expected true or false, got {do_not_perform!r}",
            field="doNotPerform",
        )
    patient = None
    if resource.get("subject") is not None:
        patient = reference_id(resource["subject"], "Patient", f"{root}.subject", field="patient")
    unread: list[str] = []
    substance, product, concentration = read_medication(resource, root, kb, unread)
    indication, indication_text = _indication(resource, kb, unread)
    reasons = tuple(
        text(
            mapping(r, f"{root}.reasonReference[{i}]").get("reference"),
            f"{root}.reasonReference[{i}].reference",
        )
        for i, r in enumerate(items(resource.get("reasonReference"), f"{root}.reasonReference"))
    )
    dosages = items(
        need(resource, "dosageInstruction", root, field="dose"), f"{root}.dosageInstruction"
    )
    unread_dosage: list[str] = []
    phases = [
        _phase(d, f"{root}.dosageInstruction[{i}]", unread_dosage) for i, d in enumerate(dosages)
    ]
    phases.sort(key=lambda p: (p.sequence is None, p.sequence or 0))
    regimen = None
    months = None
    for i, ext in enumerate(items(resource.get("extension"), f"{root}.extension")):
        ext = mapping(ext, f"{root}.extension[{i}]")
        url = ext.get("url")
        if url == codes.EXT_REGIMEN:
            regimen = kb.get(
                "regimens",
                text(ext.get("valueCode"), f"{root}.extension[{i}].valueCode", field="regimen"),
            ).id
        elif url == codes.EXT_HORIZON:
            months = positive_int(
                ext.get("valuePositiveInt"),
                f"{root}.extension[{i}].valuePositiveInt",
                field="months",
            )
        elif url not in (codes.EXT_FINGERPRINT,):
            unread.append(f"{root}.extension[{i}]: extension {url!r} is not read")
    identifier = resource.get("id")
    return MedicationOrder(
        None if identifier is None else text(identifier, f"{root}.id"),
        status,
        intent,
        patient,
        substance,
        product,
        concentration,
        tuple(phases),
        indication,
        indication_text,
        reasons,
        regimen,
        months,
        tuple(unread),
        do_not_perform,
        tuple(unread_dosage),
    )


def require_prescribable(order: MedicationOrder, path: str = "MedicationRequest") -> None:
    """Refuse an order that is no authorisation to give the medicine now: a status other than
    active (cancelled, stopped, on-hold, draft, completed, entered-in-error, unknown), an intent
    other than an actual order (proposal, plan, option, reflex-order, filler-order), or
    ``doNotPerform`` true. A door that records a MedicationRequest as a prescription calls this
    before anything is written (a CDS Hooks draft is reviewed, never recorded)."""
    if order.status not in PRESCRIBED_STATUSES:
        raise FhirReadError(
            f"{path}.status",
            f"{order.status!r}: b12 records an order in force as a prescription (status "
            f"{' or '.join(PRESCRIBED_STATUSES)}); an order that is not in force is not prescribed",
            field="status",
        )
    if order.intent not in ORDER_INTENTS:
        raise FhirReadError(
            f"{path}.intent",
            f"{order.intent!r} is not an order: b12 records as a prescription only intent "
            f"{', '.join(ORDER_INTENTS)}",
            field="intent",
        )
    if order.unread_dosage:
        raise FhirReadError(
            order.unread_dosage[0],
            "is not read by b12, and a prescription would drop it: b12 prescribes a Dosage of "
            f"{', '.join(DOSAGE_READ)}; leave it out, or prescribe in b12",
            field="dose",
        )
    if order.do_not_perform:
        raise FhirReadError(
            f"{path}.doNotPerform",
            "true: this is an order NOT to give the medicine, and b12 records only orders to "
            "give it (leave doNotPerform out, or false)",
            field="doNotPerform",
        )


def _codings(concept: Mapping[str, Any], path: str) -> list[tuple[str, str, str]]:
    out = []
    for i, c in enumerate(items(concept.get("coding"), f"{path}.coding")):
        c = mapping(c, f"{path}.coding[{i}]")
        system = optional_text(c.get("system"), f"{path}.coding[{i}].system") or ""
        code = text(c.get("code"), f"{path}.coding[{i}].code")
        out.append((system, code, f"{path}.coding[{i}]"))
    return out


def read_medication(
    resource: Mapping[str, Any], root: str, kb: Knowledge, unread: list[str]
) -> tuple[str, str | None, Concentration | None]:
    """The medicine ``root.medication[x]`` names (a contained Medication or a CodeableConcept):
    its cobalamin, b12's product when coded, the strength when an NDC or the text gives one. One
    reading for every resource that names a medicine (an order, a dose given). Codings of a
    system b12 does not read are appended to ``unread``; no cobalamin, or two, is refused."""
    if "medicationReference" in resource:
        med, at = contained_medication(resource, root)
        path = f"{at}.code"
        concept = mapping(need(med, "code", at), path)
    else:
        concept = mapping(
            need(resource, "medicationCodeableConcept", root, field="product"),
            f"{root}.medicationCodeableConcept",
        )
        path = f"{root}.medicationCodeableConcept"
    substances: set[str] = set()
    product: str | None = None
    concentration: Concentration | None = None
    for system, code, at in _codings(concept, path):
        if system == codes.B12_PRODUCT:
            try:
                found = kb.get("products", code)
            except InputError as exc:
                raise FhirReadError(at, str(exc), field="product") from None
            product = found.id
            substances |= {i.substance for i in found.ingredients if i.substance in SUBSTANCES}
        elif system == codes.B12_SUBSTANCE:
            if code not in SUBSTANCES:
                raise FhirReadError(
                    at,
                    f"unknown substance {code!r}: write one of {', '.join(SUBSTANCES)}",
                    field="substance",
                )
            substances.add(code)
        elif system in codes.systems(codes.MEDICATION_CODES):
            known = codes.by_system(codes.MEDICATION_CODES, system, code)
            if known is None:
                raise FhirReadError(
                    at,
                    f"unknown code {code!r} in {system}: b12 reads "
                    + ", ".join(c.code for c in codes.MEDICATION_CODES if c.system == system)
                    + "; send the medicine's text or b12's product code",
                    field="product",
                )
            substances.add(known.means)
            if system == codes.NDC:
                concentration = parse_concentration(codes.NDC_STRENGTH[code])
        else:
            unread.append(
                f"{at}: code {code!r} of {system or 'no system'} is not read; the medicine is read from the other codes or the text"
            )
    words = optional_text(concept.get("text"), f"{path}.text")
    if words and concentration is None and product is None:
        strength = _STRENGTH.search(words)
        if strength is not None:
            try:
                concentration = parse_concentration(strength.group(0))
            except InputError as exc:
                raise FhirReadError(f"{path}.text", str(exc), field="concentration") from None
    if words:
        named = {s for s in SUBSTANCES if s in words.casefold()}
        if substances and named and not named <= substances:
            raise FhirReadError(
                f"{path}.text",
                f"{words!r} names {', '.join(sorted(named))} but the codes say {', '.join(sorted(substances))}",
                field="substance",
            )
        substances |= named
    if not substances:
        raise FhirReadError(
            path,
            "no cobalamin b12 knows: b12 records vitamin B12 only; code it (b12's product or "
            f"substance code, NDC, UNII) or name it in the text ({', '.join(SUBSTANCES)})",
            field="substance",
        )
    if len(substances) > 1:
        raise FhirReadError(
            path,
            f"names {' and '.join(sorted(substances))}: "
            + ("order" if root == "MedicationRequest" else "name")
            + " one cobalamin",
            field="substance",
        )
    return substances.pop(), product, concentration


def _indication(
    resource: Mapping[str, Any], kb: Knowledge, unread: list[str]
) -> tuple[str | None, str | None]:
    root = "MedicationRequest.reasonCode"
    found: set[str] = set()
    shown: str | None = None
    for n, concept in enumerate(items(resource.get("reasonCode"), root)):
        path = f"{root}[{n}]"
        concept = mapping(concept, path)
        words = optional_text(concept.get("text"), f"{path}.text")
        shown = shown or words
        coded: set[str] = set()
        for system, code, at in _codings(concept, path):
            if system == codes.B12_INDICATION:
                coded.add(kb.get("indications", code).id)
            elif system == codes.ICD10:
                ids = {i.id for i in kb.indications.values() if code.upper() in i.icd10}
                if not ids:
                    raise FhirReadError(
                        at,
                        f"ICD-10 {code!r} is no indication b12 knows for B12 therapy",
                        field="indication",
                    )
                if len(ids) > 1 and words:
                    by_text = kb.match("indications", words)
                    ids = {by_text.id} if by_text is not None and by_text.id in ids else ids
                if len(ids) > 1:
                    raise FhirReadError(
                        at,
                        f"ICD-10 {code!r} is any of {', '.join(sorted(ids))}: add the indication's name as text, or b12's indication code",
                        field="indication",
                    )
                coded |= ids
            else:
                unread.append(f"{at}: code {code!r} of {system or 'no system'} is not read")
        if not coded and words:
            coded.add(kb.lookup("indications", words, "indication").id)
        found |= coded
    if len(found) > 1:
        raise FhirReadError(
            root,
            f"names {len(found)} indications ({', '.join(sorted(found))}): order one",
            field="indication",
        )
    return (found.pop() if found else None), shown


#: The elements of an order's Dosage (and of its doseAndRate) that b12 reads.
DOSAGE_READ = ("sequence", "text", "timing", "route", "doseAndRate", "extension")
DOSE_AND_RATE_READ = ("type", "doseQuantity", "doseRange")


def _phase(dosage: Any, path: str, unread: list[str]) -> OrderedPhase:
    dosage = mapping(dosage, path)
    unread += [f"{path}.{k}" for k in dosage if k not in DOSAGE_READ and k != "id"]
    sequence = (
        None
        if dosage.get("sequence") is None
        else positive_int(dosage["sequence"], f"{path}.sequence")
    )
    dose: ParsedDose | None = None
    volume: Decimal | None = None
    for i, dr in enumerate(items(dosage.get("doseAndRate"), f"{path}.doseAndRate")):
        dr = mapping(dr, f"{path}.doseAndRate[{i}]")
        unread += [f"{path}.doseAndRate[{i}].{k}" for k in dr if k not in DOSE_AND_RATE_READ]
        if "doseRange" in dr:
            raise FhirReadError(
                f"{path}.doseAndRate[{i}].doseRange",
                "a dose range: order one dose (doseQuantity)",
                field="dose",
            )
        calculated = any(
            c.get("code") == "calculated"
            for c in items(
                mapping(dr.get("type") or {}, f"{path}.doseAndRate[{i}].type").get("coding"),
                f"{path}.doseAndRate[{i}].type.coding",
            )
            if isinstance(c, Mapping)
        )
        quantity = mapping(
            need(dr, "doseQuantity", f"{path}.doseAndRate[{i}]", field="dose"),
            f"{path}.doseAndRate[{i}].doseQuantity",
        )
        if calculated:
            volume = read_volume(quantity, f"{path}.doseAndRate[{i}].doseQuantity")
        elif dose is None:
            dose = read_dose(quantity, f"{path}.doseAndRate[{i}].doseQuantity")
        else:
            raise FhirReadError(
                f"{path}.doseAndRate[{i}]",
                "a second dose: send one doseQuantity per Dosage",
                field="dose",
            )
    if dose is None:
        raise FhirReadError(
            f"{path}.doseAndRate[0].doseQuantity",
            "missing: b12 needs the dose (value and unit, e.g. 1000 ug)",
            field="dose",
        )
    route = (
        read_route(dosage["route"], f"{path}.route") if dosage.get("route") is not None else None
    )
    timing = _timing(dosage.get("timing"), f"{path}.timing")
    kind = None
    for i, ext in enumerate(items(dosage.get("extension"), f"{path}.extension")):
        ext = mapping(ext, f"{path}.extension[{i}]")
        if ext.get("url") == codes.EXT_PHASE_KIND:
            kind = text(ext.get("valueCode"), f"{path}.extension[{i}].valueCode")
        else:
            raise unread_extension(ext.get("url"), f"{path}.extension[{i}]", field="dose")
    return OrderedPhase(
        sequence,
        optional_text(dosage.get("text"), f"{path}.text"),
        dose,
        route,
        timing,
        volume,
        kind,
        path,
    )


def read_dose(quantity: Mapping[str, Any], path: str) -> ParsedDose:
    """A Quantity of mass -> the dose as sent: UCUM ug/mg/g (or the unit's words); "1000 mg"
    stays 1000 mg. IU, volumes and unknown codes are refused."""
    value = decimal(need(quantity, "value", path, field="dose"), f"{path}.value", field="dose")
    if quantity.get("comparator") is not None:
        raise FhirReadError(
            f"{path}.comparator", "a dose with a comparator: order one dose", field="dose"
        )
    system = optional_text(quantity.get("system"), f"{path}.system", field="dose")
    code = optional_text(quantity.get("code"), f"{path}.code", field="dose")
    unit = optional_text(quantity.get("unit"), f"{path}.unit", field="dose")
    if system is not None and system != codes.UCUM:
        raise FhirReadError(
            f"{path}.system", f"{system!r}: b12 reads doses in UCUM ({codes.UCUM})", field="dose"
        )
    shown: str | None = None
    if code is not None:
        if code in codes.UCUM_MASS:
            shown = codes.UCUM_MASS[code]
        elif code in ("[iU]", "[IU]"):
            shown = "IU"
        else:
            raise FhirReadError(
                f"{path}.code",
                f"UCUM {code!r} is not a mass b12 reads: write ug (shown mcg), mg or g",
                field="dose",
            )
    number = format(value, "f")
    try:
        dose = parse_dose(f"{number} {shown or unit or ''}".strip())
        if shown is not None and unit is not None:
            by_unit = parse_dose(f"{number} {unit}")
            if by_unit.mass != dose.mass:
                raise FhirReadError(
                    path,
                    f"unit {unit!r} and code {code!r} disagree: send the same unit in both",
                    field="dose",
                )
    except FhirReadError:
        raise
    except InputError as exc:
        raise FhirReadError(path, str(exc), field="dose") from None
    return dose


def read_volume(quantity: Mapping[str, Any], path: str) -> Decimal:
    value = decimal(need(quantity, "value", path), f"{path}.value")
    if quantity.get("code") != "mL" or quantity.get("system") != codes.UCUM:
        raise FhirReadError(f"{path}.code", "a volume: send it in UCUM mL", field="volume")
    return value


def read_route(concept: Any, path: str) -> str:
    concept = mapping(concept, path, field="route")
    found: set[str] = set()
    for system, code, at in _codings(concept, path):
        if system == codes.B12_ROUTE:
            if code not in ROUTES:
                raise FhirReadError(
                    at, f"unknown route {code!r}: write one of {', '.join(ROUTES)}", field="route"
                )
            found.add(code)
        elif system == codes.SNOMED:
            known = codes.by_system(codes.ROUTE_CODES, system, code)
            if known is None:
                raise FhirReadError(
                    at,
                    f"unknown SNOMED CT route {code!r}: b12 reads "
                    + ", ".join(f"{c.code} ({c.display})" for c in codes.ROUTE_CODES),
                    field="route",
                )
            found.add(known.means)
        else:
            raise FhirReadError(
                at,
                f"route code {code!r} of {system or 'no system'}: b12 reads SNOMED CT routes or b12's route codes",
                field="route",
            )
    words = optional_text(concept.get("text"), f"{path}.text", field="route")
    if not found and words:
        try:
            found.add(parse_route(words))
        except InputError as exc:
            raise FhirReadError(f"{path}.text", str(exc), field="route") from None
    if len(found) != 1:
        raise FhirReadError(
            path,
            "no route b12 reads"
            if not found
            else f"two routes ({', '.join(sorted(found))}): order one",
            field="route",
        )
    return found.pop()


def _timing(value: Any, path: str) -> OrderedTiming:
    if value is None:
        raise FhirReadError(
            path, "missing: b12 needs when to give each dose (timing.repeat)", field="timing"
        )
    timing = mapping(value, path)
    if timing.get("code") is not None:
        raise FhirReadError(
            f"{path}.code",
            "a timing code is not read: write timing.repeat (frequency, period, periodUnit)",
            field="timing",
        )
    events = tuple(
        fhir_date(e, f"{path}.event[{i}]", field="timing")
        for i, e in enumerate(items(timing.get("event"), f"{path}.event"))
    )
    repeat = timing.get("repeat")
    if repeat is None:
        if not events:
            raise FhirReadError(
                f"{path}.repeat",
                "missing: b12 needs the rhythm (frequency, period, periodUnit) or the dated events",
                field="timing",
            )
        return OrderedTiming(events=events)
    repeat = mapping(repeat, f"{path}.repeat")
    at = f"{path}.repeat"
    for key in (
        "duration",
        "durationMax",
        "frequencyMax",
        "periodMax",
        "timeOfDay",
        "when",
        "boundsDuration",
        "boundsRange",
        "countMax",
    ):
        if repeat.get(key) is not None:
            raise FhirReadError(
                f"{at}.{key}",
                "is not read by b12: order with frequency, period, periodUnit, count, boundsPeriod and dayOfWeek",
                field="timing",
            )
    frequency = (
        None
        if repeat.get("frequency") is None
        else positive_int(repeat["frequency"], f"{at}.frequency", field="timing")
    )
    period = (
        None
        if repeat.get("period") is None
        else decimal(repeat["period"], f"{at}.period", field="timing")
    )
    if period is not None and period <= 0:
        raise FhirReadError(f"{at}.period", f"{period}: write a period above zero", field="timing")
    unit = optional_text(repeat.get("periodUnit"), f"{at}.periodUnit", field="timing")
    if unit is not None and unit not in codes.PERIOD_UNITS:
        raise FhirReadError(
            f"{at}.periodUnit",
            f"unknown period unit {unit!r}: write one of {', '.join(codes.PERIOD_UNITS)} (UCUM)",
            field="timing",
        )
    if (period is None) != (unit is None):
        raise FhirReadError(
            at, "a period needs its periodUnit, and a periodUnit its period", field="timing"
        )
    count = (
        None
        if repeat.get("count") is None
        else positive_int(repeat["count"], f"{at}.count", field="timing")
    )
    start = end = None
    if repeat.get("boundsPeriod") is not None:
        bounds = mapping(repeat["boundsPeriod"], f"{at}.boundsPeriod")
        start = (
            None
            if bounds.get("start") is None
            else fhir_date(bounds["start"], f"{at}.boundsPeriod.start", field="start")
        )
        end = (
            None
            if bounds.get("end") is None
            else fhir_date(bounds["end"], f"{at}.boundsPeriod.end", field="timing")
        )
        if start and end and end < start:
            raise FhirReadError(f"{at}.boundsPeriod", "ends before it starts", field="timing")
    days = tuple(
        text(d, f"{at}.dayOfWeek[{i}]", field="timing")
        for i, d in enumerate(items(repeat.get("dayOfWeek"), f"{at}.dayOfWeek"))
    )
    for i, d in enumerate(days):
        if d not in DAYS:
            raise FhirReadError(
                f"{at}.dayOfWeek[{i}]",
                f"unknown day {d!r}: write one of {', '.join(DAYS)}",
                field="timing",
            )
    if frequency is None and period is None and not events and count != 1:
        raise FhirReadError(
            at,
            "no rhythm: write frequency, period and periodUnit (or count 1 for one dose)",
            field="timing",
        )
    return OrderedTiming(frequency, period, unit, count, start, end, days, events)


# --- writing -------------------------------------------------------------------------------------


def concept(text_: str, codings: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if codings:
        out["coding"] = [dict(c) for c in codings]
    out["text"] = text_
    return out


def medication_concept(
    kb: Knowledge, product: str | None, substance: str | None, concentration: str | None
) -> dict[str, Any]:
    """The medicine: b12's product and substance codes, the checked codes of the substance, and
    always the text."""
    codings: list[dict[str, str]] = []
    words = []
    if product:
        found = kb.get("products", product)
        codings.append({"system": codes.B12_PRODUCT, "code": found.id, "display": found.name})
        words.append(found.name)
    if substance:
        codings.append({"system": codes.B12_SUBSTANCE, "code": substance, "display": substance})
        codings += codes.written(codes.MEDICATION_CODES, substance)[:1]  # UNII, when checked
        if not product:
            words.append(substance + (f" {concentration}" if concentration else ""))
    return concept(" ".join(words) or "vitamin B12", codings)


def route_concept(route: str) -> dict[str, Any]:
    return concept(route, [{"system": codes.B12_ROUTE, "code": route, "display": route}])


def dose_quantity(mcg: Decimal) -> dict[str, Any]:
    """A dose as UCUM micrograms, shown "mcg" (exact: the Decimal as it is)."""
    return {"value": mcg, "unit": "mcg", "system": codes.UCUM, "code": "ug"}


def volume_quantity(ml: Decimal) -> dict[str, Any]:
    return {"value": ml, "unit": "mL", "system": codes.UCUM, "code": "mL"}


def _rhythm(days: list[date]) -> dict[str, Any]:
    """Timing.repeat of a run of dated doses: every n days, every n months on the same day,
    or n a week on the same weekdays; {} when none of these gives exactly these dates."""
    from b12.domain.schedule import add_months

    if len(days) < 2:
        return {}
    gaps = {(b - a).days for a, b in pairwise(days)}
    if len(gaps) == 1:
        return {"frequency": 1, "period": Decimal(gaps.pop()), "periodUnit": "d"}
    for months in (1, 2, 3, 6, 12):
        if all(add_months(days[0], months * i) == d for i, d in enumerate(days)):
            return {"frequency": 1, "period": Decimal(months), "periodUnit": "mo"}
    weekdays = sorted({d.weekday() for d in days})
    if (days[-1] - days[0]).days >= 7 and all(g < 7 for g in gaps):
        return {
            "frequency": len(weekdays),
            "period": Decimal(1),
            "periodUnit": "wk",
            "dayOfWeek": [DAYS[w] for w in weekdays],
        }
    return {}


def medication_request(rx: Prescription, patient_code: str, kb: Knowledge) -> dict[str, Any]:
    """A prescription as a MedicationRequest: one Dosage per phase (per step of an escalating
    phase), sequential; the lifelong last phase without a count or an end. Each Dosage lists
    its planned dates as ``timing.event`` beside the rhythm, so the dates read back exactly."""
    runs: list[list[PlannedDose]] = []
    for dose in rx.doses:
        last = runs[-1][-1] if runs else None
        if last is not None and (last.phase, last.dose_mcg, last.volume_ml, last.route) == (
            dose.phase, dose.dose_mcg, dose.volume_ml, dose.route,
        ):  # fmt: skip
            runs[-1].append(dose)
        else:
            runs.append([dose])
    regimen = kb.regimens.get(rx.regimen_id) if rx.regimen_id else None
    lifelong = {p.name for p in regimen.phases if p.lifelong} if regimen else set()
    dosages = []
    for n, run in enumerate(runs, start=1):
        first = run[0]
        repeat: dict[str, Any] = _rhythm([d.date for d in run])
        open_ended = n == len(runs) and first.phase in lifelong
        if not open_ended:
            repeat["count"] = len(run)
        elif not repeat:
            repeat = {"frequency": 1, "period": Decimal(1), "periodUnit": "mo"}
        if n == 1:
            repeat["boundsPeriod"] = {"start": rx.start.isoformat()}  # the course's first day
        dose_and_rate: list[dict[str, Any]] = [{"doseQuantity": dose_quantity(first.dose_mcg)}]
        if first.volume_ml is not None:
            dose_and_rate.append(
                {
                    "type": concept(
                        "volume to draw",
                        [
                            {
                                "system": codes.DOSE_RATE_TYPE,
                                "code": "calculated",
                                "display": "Calculated",
                            }
                        ],
                    ),
                    "doseQuantity": volume_quantity(first.volume_ml),
                }
            )
        dosage: dict[str, Any] = {
            "sequence": n,
            "text": first.phase,
            "timing": {"event": [d.date.isoformat() for d in run], "repeat": repeat},
            "route": route_concept(first.route),
            "doseAndRate": dose_and_rate,
        }
        if first.phase_kind:
            dosage["extension"] = [{"url": codes.EXT_PHASE_KIND, "valueCode": first.phase_kind}]
        dosages.append(dosage)
    out: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": rx.id,
        "identifier": [{"system": codes.B12_RECORD, "value": rx.id}],
        "status": "active" if rx.status == "active" else "stopped",
        "intent": "order",
        "medicationCodeableConcept": medication_concept(
            kb, rx.product, rx.substance, rx.concentration
        ),
        "subject": {"reference": f"Patient/{patient_code}"},
        "authoredOn": rx.prescribed_at.isoformat(),
        "requester": {"display": rx.prescribed_by},
    }
    extensions: list[dict[str, Any]] = [
        {"url": codes.EXT_FINGERPRINT, "valueString": rx.fingerprint}
    ]
    if rx.regimen_id:
        extensions.insert(0, {"url": codes.EXT_REGIMEN, "valueCode": rx.regimen_id})
    if rx.doses:
        extensions.append({"url": codes.EXT_HORIZON, "valuePositiveInt": horizon_months(rx)})
    out["extension"] = extensions
    if rx.indication:
        indication = kb.get("indications", rx.indication)
        codings = [
            {"system": codes.B12_INDICATION, "code": indication.id, "display": indication.name}
        ]
        codings += [{"system": codes.ICD10, "code": c} for c in indication.icd10[:1]]
        out["reasonCode"] = [concept(indication.name, codings)]
    if rx.replaces_id:
        out["priorPrescription"] = {"reference": f"MedicationRequest/{rx.replaces_id}"}
    if rx.reason:
        out["note"] = [{"text": rx.reason}]
    if rx.concentration and not rx.product:
        out["medicationCodeableConcept"]["text"] = (
            f"{rx.substance or 'cobalamin'} {rx.concentration}"
        )
    out["dosageInstruction"] = dosages
    return out


def horizon_months(rx: Prescription) -> int:
    """The fewest whole months from the start that hold every planned dose (what a re-plan
    needs to give the same dates)."""
    from b12.domain.schedule import add_months

    last = max(d.date for d in rx.doses)
    months = 1
    while add_months(rx.start, months) <= last and months < 60:
        months += 1
    return months


def planned_doses(order: MedicationOrder) -> tuple[PlannedDose, ...]:
    """The dated doses an order lists (``timing.event``), numbered over the whole order, as a
    prescription keeps them; () when a phase lists no dates."""
    out: list[PlannedDose] = []
    for phase in order.phases:
        if not phase.timing.events:
            return ()
        for day in phase.timing.events:
            out.append(
                PlannedDose(
                    len(out) + 1,
                    day,
                    phase.dose.mass.mcg,
                    phase.volume_ml,
                    phase.route or "",
                    phase.text or "",
                    phase.phase_kind or phase.text or "",
                )
            )
    return tuple(out)
