"""`b12 check`: screen a patient and an order; every finding with its basis. Exit 3 on an interrupt."""
# No `from __future__ import annotations` in command modules: Typer reads the annotations at run time.

from typing import Annotated

import typer

from b12.adapters.cli.app import JsonOption, KbOption, command, open_app
from b12.adapters.cli.option_values import build_patient
from b12.adapters.cli.output import EXIT_CODE, emit_json, show_findings
from b12.adapters.cli.patient_options import (
    AgeMonths,
    AgeYears,
    Allergies,
    Breastfeeding,
    Conditions,
    Medications,
    Mix,
    Pregnant,
    Sex,
    WeightKg,
)
from b12.errors import InputError


def bypass_option(items: list[str] | None) -> dict[str, str]:
    """--bypass CODE=REASON (repeated) -> {CODE: REASON}."""
    out: dict[str, str] = {}
    for item in items or ():
        code, sep, reason = item.partition("=")
        if not sep:  # the reason itself is judged by the screening (one check for every reason)
            raise InputError(
                f"--bypass {item!r}: write CODE=REASON, e.g. "
                "--bypass COBALAMIN_HYPERSENSITIVITY='allergist cleared, test dose tolerated'"
            )
        out[code.strip().upper()] = reason.strip()
    return out


@command("check")
def check(
    age_years: AgeYears = None,
    age_months: AgeMonths = None,
    sex: Sex = None,
    weight_kg: WeightKg = None,
    pregnant: Pregnant = False,
    breastfeeding: Breastfeeding = False,
    condition: Conditions = None,
    medication: Medications = None,
    allergy: Allergies = None,
    product: Annotated[
        str | None, typer.Option(help="Product id or name (see `b12 products`).")
    ] = None,
    route: Annotated[
        str | None,
        typer.Option(help="Planned route: IM, SC, deep-SC, IV, intrathecal, oral ..."),
    ] = None,
    mix: Mix = None,
    bypass: Annotated[
        list[str] | None,
        typer.Option(help="Bypass a hard stop: CODE=REASON (the reason is reported)."),
    ] = None,
    interrupt_on: Annotated[
        str, typer.Option(help="Lowest level that interrupts (exit 3): stop, warning or info.")
    ] = "stop",
    as_json: JsonOption = False,
    kb: KbOption = None,
) -> int:
    """Screen a patient: contraindications, cautions, interactions, syringe partners, route."""
    from b12.adapters.cli import read
    from b12.domain.findings import Level, outcome
    from b12.domain.screening import ScreeningPolicy
    from b12.services.screening import screen_patient

    try:
        level = Level(interrupt_on.strip().lower())
    except ValueError:
        raise InputError(f"--interrupt-on {interrupt_on!r}: write stop, warning or info") from None
    patient = build_patient(
        age_years,
        age_months,
        sex=sex,
        weight_kg=weight_kg,
        pregnant=pregnant,
        breastfeeding=breastfeeding,
        conditions=condition,
        medications=medication,
        allergies=allergy,
    )
    result = screen_patient(
        open_app(kb=kb).knowledge,
        patient,
        product=product,
        route=read.route(route) if route else None,
        mix=tuple(mix or ()),
        policy=ScreeningPolicy(level),
        bypass=bypass_option(bypass),
    )
    if as_json:
        emit_json(result.to_dict())
    else:
        from b12.adapters.cli.output import console

        out = console()
        out.print("[bold]PRODUCT[/bold] {product}", product=result.product or "not named")
        out.print("[bold]ROUTE[/bold]   {route}", route=result.route)
        show_findings(out, result.findings)
        for code, reason in result.bypassed.items():
            out.print("[bold]BYPASSED[/bold] {code}: {reason}", code=code, reason=reason)
        if result.interrupts:
            out.print(f"[bold]INTERRUPT[/bold] {', '.join(f.code for f in result.interrupts)}")
        out.print(f"[dim]knowledge {result.fingerprint}[/dim]")
    return EXIT_CODE[outcome(result.findings, interrupt_on=level, bypassed=result.bypassed)]
