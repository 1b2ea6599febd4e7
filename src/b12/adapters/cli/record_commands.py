"""Record commands: `b12 patient add|list|show`, `b12 prescribe`, `b12 give`, `b12 missed`."""
# No `from __future__ import annotations` in command modules: Typer reads the annotations at run time.

from collections.abc import Iterable
from typing import Annotated, Any

import typer

from b12.adapters.cli.app import JsonOption, KbOption, app, open_app
from b12.adapters.cli.option_values import build_patient, date_option
from b12.adapters.cli.output import EXIT_CODE, console, emit_json, show_findings, table
from b12.adapters.cli.patient_options import (
    AgeMonths,
    AgeYears,
    Allergies,
    Breastfeeding,
    Conditions,
    Medications,
    Pregnant,
    Sex,
    WeightKg,
)
from b12.adapters.cli.record_options import DbOption, WhoOption, on, when, who
from b12.domain.display import format_mass, format_number, format_volume
from b12.domain.findings import Finding, outcome
from b12.domain.jsonable import to_json
from b12.errors import InputError

patient_app = typer.Typer(
    no_args_is_help=True, help="Patients of the therapy record (pseudonymous)."
)
app.add_typer(patient_app, name="patient")
Code = Annotated[str, typer.Argument(help="The patient's pseudonymous identifier, e.g. P-0042.")]


def _stop_code(findings: Iterable[Finding]) -> int:
    return EXIT_CODE[outcome(findings)]


@on(patient_app, "add")
def patient_add(
    code: Code,
    correct: Annotated[
        bool, typer.Option("--correct", help="Record a corrected profile for an existing patient.")
    ] = False,
    age_years: AgeYears = None,
    age_months: AgeMonths = None,
    sex: Sex = None,
    weight_kg: WeightKg = None,
    pregnant: Pregnant = False,
    breastfeeding: Breastfeeding = False,
    condition: Conditions = None,
    medication: Medications = None,
    allergy: Allergies = None,
    born: Annotated[
        str | None,
        typer.Option(
            "--born", help="Date of birth, YYYY-MM-DD (instead of --age-years/--age-months)."
        ),
    ] = None,
    at: Annotated[str | None, typer.Option(help="When, YYYY-MM-DD[THH:MM] (default now).")] = None,
    db: DbOption = None,
    by: WhoOption = None,
    as_json: JsonOption = False,
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
        born=birth,
    )  # fmt: skip
    if as_json:
        emit_json({"patient": to_json(vars(record))})
    else:
        console().print("Patient {code} recorded ({id}).", code=record.code, id=record.id)
    return 0


@on(patient_app, "list")
def patient_list(
    limit: Annotated[int, typer.Option(help="At most this many patients (1-10000).")] = 100,
    after: Annotated[
        str | None, typer.Option(help="Start after this patient code (the next page).")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> int:
    """The patients of the record by code, a page at a time (--limit, --after)."""
    from b12.services.record import list_patients

    page = list_patients(open_app(db).unit_of_work, after, limit)
    if as_json:
        emit_json({"patients": [to_json(vars(p)) for p in page.patients], "next": page.after})
        return 0
    rows = [
        (
            p.code,
            _age(p, short=True),
            str(p.profile.get("sex") or ""),
            p.recorded_at.strftime("%Y-%m-%d %H:%M"),  # the clinic's clock
        )
        for p in page.patients
    ]
    caption = None if page.after is None else f"more: --after {page.after}"
    console().print(
        table("Patients", ("patient", "born / age", "sex", "recorded"), rows, caption=caption)
    )
    return 0


def _age(p: Any, short: bool = False) -> str:
    """The age as given: a date of birth, or months on the day they were given."""
    if p.born is not None:
        return p.born.isoformat() if short else f"born {p.born.isoformat()}"
    if p.age_months is not None:
        if short:
            return f"{format_number(p.age_months)} mo"
        given = "" if p.age_given_on is None else f" on {p.age_given_on.isoformat()}"
        return f"{format_number(p.age_months)} months{given}"
    return ""


@on(patient_app, "show")
def patient_show(code: Code, db: DbOption = None, as_json: JsonOption = False) -> int:
    """One patient's profile and prescriptions."""
    from b12.services.record import patient_record, prescription_dict

    record, prescriptions = patient_record(open_app(db).unit_of_work, code)
    out = {
        "patient": to_json(vars(record)),
        "prescriptions": [prescription_dict(rx) for rx in prescriptions],
    }
    if as_json:
        emit_json(out)
        return 0
    c = console()
    c.print("[bold]Patient {code}[/bold]  age: {age}  profile: {profile}", code=record.code,
            age=_age(record) or "not given", profile=to_json(dict(record.profile)))  # fmt: skip
    for rx in out["prescriptions"]:
        c.print("  prescription {id}: {status} from {start}, {regimen}, {product} ({doses} doses)",
                **rx)  # fmt: skip
    return 0


@on(app, "prescribe")
def prescribe(
    code: Code,
    start: Annotated[str | None, typer.Option(help="Date of the first dose, YYYY-MM-DD.")] = None,
    indication: Annotated[str | None, typer.Option(help="Indication id or name.")] = None,
    regimen: Annotated[
        str | None, typer.Option(help="A regimen id instead of the default.")
    ] = None,
    product: Annotated[str | None, typer.Option(help="Product id or name.")] = None,
    concentration: Annotated[
        str | None, typer.Option(help="Strength instead of a product.")
    ] = None,
    months: Annotated[int, typer.Option(help="How far to plan, in months.")] = 12,
    neuro: Annotated[bool, typer.Option("--neuro", help="Neurological involvement.")] = False,
    stop: Annotated[bool, typer.Option("--stop", help="Stop the active prescription.")] = False,
    reason: Annotated[str | None, typer.Option(help="Why it stops (with --stop).")] = None,
    override: Annotated[
        str | None, typer.Option(help="Prescribe despite a stop; the reason is kept.")
    ] = None,
    at: Annotated[str | None, typer.Option(help="When prescribed (default now).")] = None,
    db: DbOption = None,
    by: WhoOption = None,
    kb: KbOption = None,
    as_json: JsonOption = False,
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
        override=override,
    )  # fmt: skip
    if as_json:
        emit_json(done.to_dict())
        return _stop_code(done.findings)
    c = console()
    if done.prescription is not None:
        shown = prescription_dict(done.prescription)
        c.print(
            f"[bold]Prescribed[/bold] {shown['regimen']} from {shown['start']}: {shown['doses']} doses of {shown['product'] or 'the given strength'} ({shown['id']})."
        )
    show_findings(c, done.findings)
    return _stop_code(done.findings)


@on(app, "give")
def give(
    code: Code,
    dose: Annotated[
        str | None, typer.Option(help="Dose given (default: the prescribed dose).")
    ] = None,
    product: Annotated[
        str | None, typer.Option(help="Product (default: the prescribed one).")
    ] = None,
    route: Annotated[str | None, typer.Option(help="Route (default: the prescribed one).")] = None,
    site: Annotated[
        str | None, typer.Option(help="Site, e.g. 'left deltoid' (default: suggested).")
    ] = None,
    lot: Annotated[str | None, typer.Option(help="Lot number on the vial or ampoule.")] = None,
    expiry: Annotated[str | None, typer.Option(help="Expiry date of the lot, YYYY-MM-DD.")] = None,
    at: Annotated[
        str | None, typer.Option(help="When given, YYYY-MM-DDTHH:MM (default now).")
    ] = None,
    override: Annotated[
        str | None, typer.Option(help="Record despite a stop; the reason is kept.")
    ] = None,
    db: DbOption = None,
    by: WhoOption = None,
    kb: KbOption = None,
    as_json: JsonOption = False,
) -> int:
    """Give the dose due: the five rights, the volume to draw, the site, then the record. Exit 3 on a stop."""
    from b12.adapters.cli import read
    from b12.services.administering import GiveRequest
    from b12.services.administering import give as give_dose

    b12 = open_app(db, kb)
    loaded = b12.knowledge
    request = GiveRequest(code, when(at, b12), read.dose(dose) if dose else None,
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


@on(app, "missed")
def missed(
    code: Code,
    reason: Annotated[str, typer.Option(help="Why the dose was not given.")],
    refused: Annotated[bool, typer.Option("--refused", help="The patient refused it.")] = False,
    at: Annotated[str | None, typer.Option(help="The day it was missed (default today).")] = None,
    db: DbOption = None,
    by: WhoOption = None,
    as_json: JsonOption = False,
) -> int:
    """Record a missed dose: never doubled; the course re-flows; the prescriber must review."""
    from b12.services.administering import record_missed

    b12 = open_app(db)
    moment = when(at, b12)
    done = record_missed(
        b12.unit_of_work, code, reason, moment.date(), who(by, b12), moment, refused=refused
    )
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
