"""Record commands: `b12 patient add|list|show`, `b12 prescribe`, `b12 give`, `b12 missed`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from b12.adapters.cli.app import open_app
from b12.adapters.cli.option_values import build_patient, date_option
from b12.adapters.cli.output import EXIT_CODE, console, emit_json, show_findings, table
from b12.adapters.cli.record_options import when, who
from b12.domain.display import format_instant, format_mass, format_volume
from b12.domain.findings import Finding, outcome
from b12.domain.jsonable import to_json
from b12.errors import InputError


def _stop_code(findings: Iterable[Finding]) -> int:
    return EXIT_CODE[outcome(findings)]


def patient_add(
    *,
    code: str,
    correct: bool = False,
    age_years: str | None = None,
    age_months: str | None = None,
    sex: str | None = None,
    weight_kg: str | None = None,
    pregnant: bool = False,
    breastfeeding: bool = False,
    condition: list[str] | None = None,
    medication: list[str] | None = None,
    allergy: list[str] | None = None,
    born: str | None = None,
    ward: str | None = None,
    at: str | None = None,
    db: str | None = None,
    by: str | None = None,
    as_json: bool = False,
) -> int:
    """Add a patient (a pseudonymous code and the screening profile)."""
    from b12.services.record import add_patient

    patient = build_patient(
        age_years,
        age_months,
        sex,
        weight_kg,
        pregnant,
        breastfeeding,
        condition,
        medication,
        allergy,
    )
    birth = date_option(born, "--born")
    if birth is not None and (age_years is not None or age_months is not None):
        raise InputError(
            "--born and --age-years/--age-months: give the date of birth or the age, not both",
            field="born",
        )
    b12 = open_app(db)
    record = add_patient(
        b12.unit_of_work, code, patient, who(by, b12), when(at, b12), correct=correct,
        born=birth, ward=ward,
    )  # fmt: skip
    if as_json:
        emit_json({"patient": to_json(vars(record))})
    else:
        console().print("Patient {code} recorded ({id}).", code=record.code, id=record.id)
    return 0


def patient_list(
    *,
    limit: int = 100,
    after: str | None = None,
    db: str | None = None,
    as_json: bool = False,
) -> int:
    """The patients of the record by code, a page at a time (--limit, --after)."""
    from b12.services.record import list_patients

    b12 = open_app(db)
    page = list_patients(b12.unit_of_work, after, limit)
    today = when(None, b12).date()
    if as_json:
        emit_json({"patients": [to_json(vars(p)) for p in page.patients], "next": page.after})
        return 0
    rows = [
        (
            p.code,
            _age(p, today),
            str(p.profile.get("sex") or ""),
            format_instant(p.recorded_at, b12.settings.zone),
        )
        for p in page.patients
    ]
    caption = None if page.after is None else f"more: --after {page.after}"
    console().print(table("Patients", ("patient", "age", "sex", "recorded"), rows, caption=caption))
    return 0


def _age(p: Any, today: Any) -> str:
    """The age on ``today`` in years and months, derived from the date of birth or from the age
    given and the day it was given (never stale); empty when not known."""
    from b12.services.record import patient_on

    months = patient_on(p, today).age_months
    return "" if months is None else age_words(months)


def _age_basis(p: Any) -> str:
    """What the age is derived from: the date of birth, or the age given and when."""
    if p.born is not None:
        return f"born {p.born.isoformat()}"
    if p.age_months is not None:
        given = "" if p.age_given_on is None else f" on {p.age_given_on.isoformat()}"
        return f"given as {age_words(p.age_months)}{given}"
    return ""


def patient_show(
    *,
    code: str,
    db: str | None = None,
    as_json: bool = False,
) -> int:
    """One patient's profile and prescriptions."""
    from b12.services.record import patient_record, prescription_dict

    b12 = open_app(db)
    record, prescriptions = patient_record(b12.unit_of_work, code)
    out = {
        "patient": to_json(vars(record)),
        "prescriptions": [prescription_dict(rx) for rx in prescriptions],
    }
    if as_json:
        emit_json(out)
        return 0
    _show_patient(record, out["prescriptions"], when(None, b12).date(), b12.settings.zone)
    return 0


def age_words(months: object) -> str:
    """'750.0' (months) -> '62 years 6 months'; an infant's age in months (and weeks under one)."""
    from decimal import Decimal, InvalidOperation

    try:
        total = Decimal(str(months))
    except InvalidOperation:
        return str(months)
    whole = int(total)
    years, rest = divmod(whole, 12)
    if years == 0:
        if whole == 0:
            return f"{int(total * Decimal('4.345'))} weeks"
        return f"{whole} month{'s' if whole != 1 else ''}"
    said = f"{years} year{'s' if years != 1 else ''}"
    return said + (f" {rest} month{'s' if rest != 1 else ''}" if rest else "")


def _listed(items: Iterable[str]) -> str:
    return ", ".join(items) or "none recorded"


def _show_patient(record: Any, prescriptions: list[dict[str, Any]], today: Any, zone: Any) -> None:
    """The profile and each prescription in words; a replaced one says what replaced it."""
    c = console()
    p = record.profile
    c.print("[bold]Patient {code}[/bold]  recorded {at} by {who}", code=record.code,
            at=format_instant(record.recorded_at, zone), who=record.recorded_by)  # fmt: skip
    age = _age(record, today)
    c.print(
        "  age          {age}",
        age=f"{age} ({_age_basis(record)})" if age else "not recorded",
    )
    c.print("  sex          {sex}", sex=p.get("sex") or "not recorded")
    if record.ward is not None:
        c.print("  ward         {ward}", ward=record.ward)
    weight = p.get("weight_kg")
    c.print("  weight       {w}", w="not recorded" if weight is None else f"{weight} kg")
    states = [s for s in ("pregnant", "breastfeeding") if p.get(s)]
    c.print(
        "  pregnancy    {s}", s=" and ".join(states) if states else "not pregnant or breastfeeding"
    )
    c.print("  conditions   {x}", x=_listed(p.get("conditions") or ()))
    c.print("  medications  {x}", x=_listed(p.get("medications") or ()))
    c.print("  allergies    {x}", x=_listed(p.get("allergies") or ()))
    if not prescriptions:
        c.print("  No prescription.")
        return
    replaced_by = {rx["replaces"]: rx for rx in prescriptions if rx["replaces"]}
    number = {rx["id"]: n for n, rx in enumerate(prescriptions, 1)}
    c.print("[bold]Prescriptions[/bold] (oldest first)")
    for n, rx in enumerate(prescriptions, 1):
        later = replaced_by.get(rx["id"])
        if rx["status"] == "stopped":
            which = number.get(rx["replaces"])
            state = f"STOP of prescription {which or rx['replaces']}" + (
                f": {rx['reason']}" if rx["reason"] else ""
            )
        elif later is not None and later["status"] == "stopped":
            state = f"STOPPED on {later['prescribed_at'][:10]} (see {later['id']})"
        elif later is not None:
            state = f"REPLACED on {later['prescribed_at'][:10]} by {later['id']}"
        else:
            state = "ACTIVE"
        c.print("  {n}. {state}", n=n, state=state)
        if rx["status"] != "stopped":
            c.print("     from {start}: {regimen}, {product}, {doses} doses", start=rx["start"],
                    regimen=rx["regimen"] or "no regimen", doses=rx["doses"],
                    product=rx["product"] or "the given strength")  # fmt: skip
        c.print("     prescribed {at} by {who}; id {id}", at=rx["prescribed_at"].replace("T", " ")[:16],
                who=rx["prescribed_by"], id=rx["id"])  # fmt: skip


def prescribe(
    *,
    code: str,
    start: str | None = None,
    indication: str | None = None,
    regimen: str | None = None,
    product: str | None = None,
    concentration: str | None = None,
    months: int = 12,
    neuro: bool = False,
    self_injection: bool = False,
    stop: bool = False,
    reason: str | None = None,
    override: str | None = None,
    at: str | None = None,
    db: str | None = None,
    by: str | None = None,
    kb: str | None = None,
    as_json: bool = False,
) -> int:
    """Prescribe a planned course (kept with its regimen, schedule, product and knowledge fingerprint)."""
    from b12.services.record import prescribe as prescribe_plan
    from b12.services.record import prescription_dict, stop_prescription

    b12 = open_app(db, kb)
    if stop:
        rx = stop_prescription(b12.unit_of_work, code, reason or "", who(by, b12), when(at, b12))
        if as_json:
            emit_json({"prescription": prescription_dict(rx)})
        else:
            console().print(
                f"Prescription stopped ({rx.id}); the old one is kept ({rx.replaces_id})."
            )
        return 0
    from b12.adapters.cli import read

    first = date_option(start, "--start")
    if first is None:
        raise InputError("--start is required: write the date of the first dose, e.g. 2026-01-05")
    request = read.plan_request(b12.knowledge, first, indication, regimen, product,
                                concentration, months, neuro)  # fmt: skip
    done = prescribe_plan(
        b12.unit_of_work, b12.knowledge, code, request, who(by, b12), when(at, b12),
        override=override, self_injection=self_injection,
    )  # fmt: skip
    if as_json:
        emit_json(done.to_dict())
        return _stop_code(done.findings)
    c = console()
    if done.prescription is not None:
        shown = prescription_dict(done.prescription)
        c.print(
            f"[bold]Prescribed[/bold] {shown['regimen']} from {shown['start']}: {shown['doses']} doses of {shown['product'] or 'the given strength'} ({shown['id']})"
            + ("; self-injection at home." if self_injection else ".")
        )
    show_findings(c, done.findings)
    return _stop_code(done.findings)


def give(
    *,
    code: str,
    dose: str | None = None,
    product: str | None = None,
    route: str | None = None,
    site: str | None = None,
    lot: str | None = None,
    expiry: str | None = None,
    at: str | None = None,
    override: str | None = None,
    db: str | None = None,
    by: str | None = None,
    kb: str | None = None,
    as_json: bool = False,
) -> int:
    """Give the dose due: the five rights, the volume to draw, the site, then the record. Exit 3 on a stop."""
    from b12.adapters.cli import read
    from b12.services.administering import GiveRequest
    from b12.services.administering import give as give_dose

    b12 = open_app(db, kb)
    loaded = b12.knowledge
    # give refuses a future time itself, saying how much clock difference it allows
    request = GiveRequest(code, when(at, b12, future=True), read.dose(dose) if dose else None,
                          read.product_id(loaded, product) if product else None,
                          read.route(route) if route else None, site, lot,
                          date_option(expiry, "--expiry"), override)  # fmt: skip
    done = give_dose(b12.unit_of_work, loaded, request, who(by, b12), b12.clock)
    if as_json:
        emit_json(done.to_dict())
        return _stop_code(done.findings)
    c = console()
    a, d = done.recorded, done.dose
    if a is None:  # the stop first, and nothing that reads as an instruction
        c.print("[bold red]STOP: not recorded.[/bold red] Do not give this dose; see below.")
        show_findings(c, done.findings)
        return _stop_code(done.findings)
    if d is not None and d.measured is not None:
        c.print("[bold]Draw {volume}[/bold] for {dose} {route}" + (", {site}" if done.site else ""),
                volume=format_volume(d.measured.rounded_ml), dose=format_mass(d.dose_mcg),
                route=d.route, site=done.site)  # fmt: skip
    if done.needle is not None:
        c.print(f"Needle {done.needle.line} [dim]basis: {', '.join(done.needle.sources)}[/dim]")
    c.print(f"Recorded ({a.id}).")
    show_findings(c, done.findings)
    return _stop_code(done.findings)


def missed(
    *,
    code: str,
    reason: str,
    refused: bool = False,
    held: bool = False,
    at: str | None = None,
    db: str | None = None,
    by: str | None = None,
    as_json: bool = False,
) -> int:
    """Record a missed dose: never doubled; the course re-flows; the prescriber must review."""
    from b12.services.administering import record_missed

    b12 = open_app(db)
    moment = when(at, b12)
    done = record_missed(
        b12.unit_of_work, code, reason, moment.date(), who(by, b12), moment, refused=refused,
        held=held,
    )  # fmt: skip
    if as_json:
        emit_json(done.to_dict())
        return 0
    c = console()
    c.print(
        f"Recorded: dose {done.recorded.planned_number} {done.recorded.kind} ({done.recorded.id})."
    )
    c.print("[bold]For the prescriber: a missed injection needs your review.[/bold]")
    show_findings(c, done.findings)
    return 0
