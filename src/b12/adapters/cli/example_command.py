"""`b12 example`: the worked example `make run` shows, every step a real call on a real database."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from b12.adapters.cli.app import open_app
from b12.adapters.cli.output import console, emit_json, show_findings
from b12.adapters.cli.record_options import in_clinic

PATIENT = "DEMO-0001"
PRODUCT = "cyanocobalamin-us-1000mcg-ml-10ml-vial"
DAYS_AGO = 21  # the course started three weeks before today, so some doses are given and some due


def _default_folder() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("b12"))


def example(
    *,
    folder: str | None = None,
    as_json: bool = False,
    kb: str | None = None,
) -> int:
    """A worked example: a patient, a prescription, doses given and missed, results, status, plot."""
    from b12.adapters.cli import read
    from b12.bootstrap import upgrade
    from b12.domain.patient import Patient
    from b12.services.administering import GiveRequest, give, record_missed
    from b12.services.follow_up import patient_status
    from b12.services.planning import PlanRequest
    from b12.services.record import add_labs, add_patient, prescribe, verify_audit

    where = Path(folder) if folder else _default_folder()
    where.mkdir(parents=True, exist_ok=True)
    database = where / "example.db"
    for stale in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        stale.unlink(missing_ok=True)  # the example starts afresh; the real record is b12.db
    record = open_app(f"sqlite:///{database}", kb)
    upgrade(record.settings)  # the example makes its record, so it creates its tables too
    knowledge = record.knowledge
    now = record.clock.now()  # the clinic's time: a step's time is its wall clock
    today = now.date()
    start = today - timedelta(days=DAYS_AGO)

    def at(day: date, hour: int = 9) -> datetime:
        # today's steps: not after the clock
        return min(in_clinic(datetime.combine(day, time(hour)), record), now)

    steps: list[dict[str, Any]] = []
    unit_of_work = record.unit_of_work  # each step opens and commits its own
    profile = Patient(age_months=Decimal(62 * 12), sex="female", weight_kg=Decimal(64))
    add_patient(unit_of_work, PATIENT, profile, "dr Ames", at(start - timedelta(days=3), 10))
    written = ["b12=110pg/mL", "hb=8.9g/dL", "rbc=2.6", "reticulocytes=0.8%", "mcv=112fL"]
    baseline = [read.reading(knowledge, text) for text in written]
    labs = add_labs(
        unit_of_work, knowledge, PATIENT, baseline, start - timedelta(days=3), "lab", at(start, 8)
    )
    steps.append({"step": "baseline results", "result": labs.to_dict()})
    request = PlanRequest(start=start, indication="pernicious-anaemia", product=PRODUCT)
    prescribed = prescribe(unit_of_work, knowledge, PATIENT, request, "dr Ames", at(start, 8))
    steps.append({"step": "prescription", "result": prescribed.to_dict()})
    plan = dict(prescribed.plan or {})
    doses: list[tuple[date, Any]] = []
    missed_day = start + timedelta(days=8)
    for planned in plan.get("administrations", []):
        day = date.fromisoformat(planned["date"])
        if day > today:
            break
        if day == missed_day:
            reason = "patient unwell, stayed home"
            doses.append(
                (day, record_missed(unit_of_work, PATIENT, reason, day, "nurse Bo", at(day, 18)))
            )
        else:
            lot = GiveRequest(PATIENT, at(day), lot="C4471", expiry=today + timedelta(days=300))
            doses.append((day, give(unit_of_work, knowledge, lot, "nurse Bo", record.clock)))
    steps.append(
        {"step": "doses", "result": [{"date": d.isoformat(), **r.to_dict()} for d, r in doses]}
    )
    later_labs = []
    later = [
        (start + timedelta(days=2), ["potassium=3.9mmol/L"]),  # within 48 h of the first dose
        (start + timedelta(days=6), ["reticulocytes=4.6%"]),
        (start + timedelta(days=14), ["hb=10.4g/dL", "rbc=3.5", "reticulocytes=2.9%"]),
    ]
    for day, readings in later:
        if day <= today:
            typed = [read.reading(knowledge, text) for text in readings]
            added = add_labs(unit_of_work, knowledge, PATIENT, typed, day, "lab", at(day, 15))
            later_labs.append(added)
            steps.append({"step": f"results of {day.isoformat()}", "result": added.to_dict()})
    status = patient_status(unit_of_work, PATIENT, today, knowledge)
    chain = verify_audit(unit_of_work)
    from b12.adapters.plot import plot_trends

    plot = plot_trends(str(where / "example-plot.png"), status)
    summary = {
        "database": str(database),
        "plot": plot,
        "fingerprint": knowledge.fingerprint,
        "steps": steps,
        "status": status.to_dict(),
        "audit": chain.to_dict(),
    }
    if as_json:
        emit_json(summary)
        return 0
    _show(summary, labs, plan, doses, status, chain)
    return 0


def _show(
    summary: dict[str, Any],
    baseline: Any,
    plan: dict[str, Any],
    doses: list[tuple[date, Any]],
    status: Any,
    chain: Any,
) -> None:
    from b12.domain.display import format_mass, format_number, format_volume

    out = console()
    out.print(
        f"[bold]Worked example[/bold]: patient {PATIENT}, a 62-year-old woman with pernicious anaemia"
    )
    out.print(f"[dim]record {summary['database']}; knowledge {summary['fingerprint']}[/dim]")
    out.print("\n[bold]1. Baseline results[/bold]")
    for r in baseline.results:
        same = r.normalised_value is None or (r.normalised_value, r.normalised_unit) == (
            r.value,
            r.unit,
        )
        canonical = "" if same else f" = {format_number(r.normalised_value)} {r.normalised_unit}"
        out.print(f"   {r.analyte}: {format_number(r.value)} {r.unit}{canonical}")
    show_findings(out, [f for f in baseline.findings if f.level.value != "info"])
    regimen = plan.get("regimen", {})
    out.print(f"\n[bold]2. Prescription[/bold]: {regimen.get('title')}")
    out.print(f"   regimen {regimen.get('id')}; sources {', '.join(regimen.get('sources', []))}")
    for a in plan.get("administrations", [])[:3]:
        dose, volume = format_mass(Decimal(a["dose_mcg"])), format_volume(Decimal(a["volume_ml"]))
        out.print(f"   {a['date']}  {dose} = draw {volume}  {a['route']}  ({a['phase']})")
    out.print(f"   ... {len(plan.get('administrations', []))} doses planned over 12 months")
    out.print("\n[bold]3. Doses[/bold]")
    for day, result in doses:
        recorded = getattr(result, "recorded", None)
        if hasattr(result, "site"):  # a dose given
            if recorded is None:
                out.print(
                    f"   {day}  [red]not recorded[/red]: {', '.join(f.code for f in result.stops)}"
                )
                continue
            late = [f.code for f in result.findings if f.level.value != "info"]
            out.print(
                f"   {day}  given {format_mass(recorded.dose_mcg)} = {format_volume(recorded.volume_ml)} "
                f"{recorded.route}, {recorded.site}, lot {recorded.lot}"
                + (f"  [yellow]{', '.join(late)}[/yellow]" if late else "")
            )
        else:
            out.print(
                f"   {day}  [yellow]missed[/yellow]: never doubled; the course re-flows; the prescriber reviews"
            )
    data = summary["status"]
    out.print(f"\n[bold]4. Status on {data['date']}[/bold]")
    out.print(
        f"   given {data['given']} of {data['planned']} planned doses; next due {data['next_due']}; "
        f"overdue: {', '.join(map(str, data['overdue'])) or 'none'}"
    )
    show_findings(out, status.findings)
    out.print(
        f"\n[bold]5. Plot[/bold]: results against the injections written to {summary['plot']}"
    )
    verdict = "intact" if chain.intact else f"BROKEN at {chain.broken_seq}"
    out.print(f"[bold]6. Audit trail[/bold]: {chain.links} hash-chained entries, {verdict}")
