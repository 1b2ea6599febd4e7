"""`b12 labs`, `b12 requirement`, `b12 intake`: results banded with their basis; need and intake."""

from __future__ import annotations

from typing import Any

from b12.adapters.cli.app import open_app
from b12.adapters.cli.option_values import build_patient
from b12.adapters.cli.output import EXIT_CODE, console, emit_json, show_findings, table
from b12.domain.findings import outcome


def labs(
    *,
    readings: list[str],
    lab_range: list[str] | None = None,
    day: int | None = None,
    age_years: str | None = None,
    age_months: str | None = None,
    sex: str | None = None,
    pregnant: bool = False,
    breastfeeding: bool = False,
    as_json: bool = False,
    kb: str | None = None,
) -> int:
    """Interpret results: each banded in the unit written (NICE NG239 for B12), the range used shown."""
    from b12.adapters.cli import read
    from b12.services.labs import interpret_labs

    patient = build_patient(
        age_years, age_months, sex, pregnant=pregnant, breastfeeding=breastfeeding
    )
    knowledge = open_app(kb=kb).knowledge
    results, ranges = read.labs(knowledge, readings, lab_range or ())
    report = interpret_labs(knowledge, results, patient, ranges, treatment_day=day)
    if as_json:
        emit_json(report.to_dict())
    else:
        _show_labs(report.to_dict(), report.findings)
    return EXIT_CODE[outcome(report.findings)]


def requirement_command(
    *,
    age_years: str | None = None,
    age_months: str | None = None,
    pregnant: bool = False,
    breastfeeding: bool = False,
    table_id: str | None = None,
    as_json: bool = False,
    kb: str | None = None,
) -> int:
    """The daily B12 requirement, with every table's value and where they disagree."""
    from b12.adapters.cli import read
    from b12.services.intake import requirement

    patient = build_patient(age_years, age_months, pregnant=pregnant, breastfeeding=breastfeeding)
    knowledge = open_app(kb=kb).knowledge
    chosen = read.requirement_table(knowledge, table_id) if table_id is not None else None
    need = requirement(knowledge, patient, chosen)
    data = need.to_dict()
    if as_json:
        emit_json(data)
        return 0
    out = console()
    out.print(
        f"[bold]REQUIREMENT[/bold] {_amount(data['requirement_mcg_per_day'])} a day ({data['table']})"
    )
    out.print(
        table(
            f"Every table for this patient (age {data['age']})",
            ("table", "mcg/day", "basis", "sources", "status"),
            _table_rows(data["tables"]),
        )
    )
    show_findings(out, need.findings)
    out.print(f"[dim]knowledge {data['fingerprint']}[/dim]")
    return 0


def intake(
    *,
    foods: list[str],
    age_years: str | None = None,
    age_months: str | None = None,
    pregnant: bool = False,
    breastfeeding: bool = False,
    table_id: str | None = None,
    as_json: bool = False,
    kb: str | None = None,
) -> int:
    """A day's dietary B12 from foods, against the daily requirement."""
    from b12.adapters.cli import read
    from b12.services.intake import estimate_intake

    patient = build_patient(age_years, age_months, pregnant=pregnant, breastfeeding=breastfeeding)
    knowledge = open_app(kb=kb).knowledge
    chosen = read.requirement_table(knowledge, table_id) if table_id is not None else None
    estimate = estimate_intake(knowledge, read.foods(knowledge, foods), patient, chosen)
    data = estimate.to_dict()
    if as_json:
        emit_json(data)
        return 0
    from b12.domain.display import format_mass, format_number

    out = console()
    rows = [
        (
            i["name"],
            f"{format_number(i['grams'])} g",
            "amount unknown" if i["mcg"] is None else format_mass(i["mcg"]),
            ", ".join(i["sources"]),
        )
        for i in data["items"]
    ]
    out.print(table("Foods", ("food", "eaten", "B12", "sources"), rows))
    out.print(
        f"[bold]INTAKE[/bold]      {format_mass(data['intake_mcg_per_day'])} a day (counted foods)"
    )
    out.print(
        f"[bold]REQUIREMENT[/bold] {_amount(data['requirement_mcg_per_day'])} a day ({data['requirement_table']})"
    )
    show_findings(out, (*estimate.requirement.findings, *estimate.findings))
    out.print(f"[dim]knowledge {data['fingerprint']}[/dim]")
    return 0


def _amount(value: Any) -> str:
    from b12.domain.display import format_mass, format_number

    if value is None:
        return "-"
    if isinstance(value, dict):
        return f"{format_number(value['min'])}-{format_mass(value['max'])}"
    return str(format_mass(value))


def _table_rows(tables: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    return [
        (
            ("-> " if t["followed"] else "   ") + t["table"],
            _amount(t["mcg_per_day"]),
            t["basis"] or "-",
            ", ".join(t["sources"]),
            t["status"],
        )
        for t in tables
    ]


def _show_labs(data: dict[str, Any], findings: Any) -> None:
    from b12.domain.display import format_number

    out = console()
    rows = []
    for r in data["results"]:
        written = f"{format_number(r['value'])} {r['unit']}".strip()
        canonical = f"{format_number(r['canonical_value'])} {r['canonical_unit']}".strip()
        band = r["band"] + (
            f" (lab range: {r['lab_band']})" if r["lab_band"] and r["lab_band"] != r["band"] else ""
        )
        rows.append(
            (
                r["analyte_name"],
                r["loinc"] or "-",
                written,
                canonical,
                band,
                r["range_used"]["text"],
            )
        )
    out.print(
        table("Results", ("test", "LOINC", "as written", "canonical", "band", "range used"), rows)
    )
    show_findings(out, findings)
    out.print(f"[dim]knowledge {data['fingerprint']}[/dim]")
