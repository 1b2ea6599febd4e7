"""`b12 plan`: a dated treatment plan with volumes, laboratory checks, supply and its basis."""

from __future__ import annotations

from b12.adapters.cli.app import open_app
from b12.adapters.cli.option_values import build_patient, date_option
from b12.adapters.cli.output import EXIT_CODE, console, emit_json, show_findings, table
from b12.domain.findings import outcome
from b12.errors import InputError


def plan(
    *,
    start: str,
    indication: str | None = None,
    regimen: str | None = None,
    product: str | None = None,
    concentration: str | None = None,
    months: int = 12,
    neuro: bool = False,
    b12: str | None = None,
    ics: str | None = None,
    age_years: str | None = None,
    age_months: str | None = None,
    sex: str | None = None,
    weight_kg: str | None = None,
    pregnant: bool = False,
    breastfeeding: bool = False,
    condition: list[str] | None = None,
    medication: list[str] | None = None,
    allergy: list[str] | None = None,
    as_json: bool = False,
    kb: str | None = None,
) -> int:
    """Plan a course: regimen, dated doses and volumes, laboratory checks, supply. Exit 3 on a stop."""
    from b12.adapters.cli import read
    from b12.services.planning import plan_therapy

    first = date_option(start, "--start")
    if first is None:
        raise InputError("--start is required: write the date of the first dose, e.g. 2026-01-05")
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
    knowledge = open_app(kb=kb).knowledge
    request = read.plan_request(
        knowledge, first, indication, regimen, product, concentration, months, neuro, b12, patient
    )
    result = plan_therapy(knowledge, request)
    written = None
    if ics:
        from b12.adapters.calendar import write_ics
        from b12.adapters.cli.output import writing

        with writing("ics", ics, (".ics",)):
            written = write_ics(result, ics)
    if as_json:
        data = result.to_dict()
        data["calendar"] = None if written is None else str(written)
        emit_json(data)
    else:
        _show(result, written)
    return EXIT_CODE[outcome(result.findings)]


def _show(result: object, written: object) -> None:
    from b12.domain.display import format_number, format_planned_dose, format_volume
    from b12.services.planning import Plan

    assert isinstance(result, Plan)
    out = console()
    r = result.regimen
    out.print(f"[bold]REGIMEN[/bold]  {r.title}  ({r.id})")
    out.print(f"         why: {result.choice.why}; sources: {', '.join(r.sources)}")
    rows = [
        (
            a.date.isoformat(),
            format_planned_dose(a.dose_mcg, a.dose_range),
            "-" if a.volume_ml is None else format_volume(a.volume_ml),
            a.route,
            a.phase,
        )
        for a in result.administrations
    ]
    out.print(table("Administrations", ("date", "dose", "draw", "route", "phase"), rows))
    labs = [
        (
            lab.date.isoformat(),
            ", ".join(f"{t.name} ({t.loinc or '-'})" for t in lab.tests),
            ", ".join(x.rule for x in lab.reasons),
        )
        for lab in result.labs
    ]
    out.print(table("Laboratory checks", ("date", "tests (LOINC)", "rules"), labs))
    for c in result.schedule.checkpoints:
        out.print(f"[bold]CHECK[/bold]    {c.date.isoformat()}  {c.says}")
    for s in (result.supply_first_month, result.supply_horizon):
        cost = "; ".join(f"{format_number(c.amount)} {c.currency}" for c in s.costs) or "no price"
        out.print(
            f"[bold]SUPPLY[/bold]   {s.period}: {s.injections} injections, "
            f"{s.containers if s.containers is not None else '?'} {s.container or 'containers'}, "
            f"{s.packs if s.packs is not None else '?'} packs, {s.injections} syringes and needles; {cost}"
        )
    alternatives = [a.id for a in result.choice.candidates if a is not r]
    if alternatives:
        out.print(f"[bold]OTHERS[/bold]   {', '.join(alternatives)}")
    for conflict in result.choice.conflicts:
        out.print(f"[bold]CONFLICT[/bold] {conflict.id}: {conflict.claim}")
    show_findings(out, result.findings)
    if written is not None:
        out.print("calendar written to {path}", path=written)
    out.print(f"[dim]knowledge {result.fingerprint}[/dim]")
