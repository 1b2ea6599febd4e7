"""`b12 dose`: from an order to the volume to draw, with every finding and its basis."""
# No `from __future__ import annotations` in command modules: Typer reads the annotations at run time.

from datetime import date
from typing import Annotated

import typer

from b12.adapters.cli import JsonOption, KbOption, command
from b12.adapters.cli.output import emit_json, show_findings
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
    build_patient,
    date_option,
)
from b12.domain.display import format_volume
from b12.domain.findings import Level


@command("dose")
def dose(
    dose: Annotated[str, typer.Argument(help="The dose as ordered: 500mcg, 0.5 mg, 1000 µg ...")],
    product: Annotated[
        str | None, typer.Option(help="Product id or name (see `b12 products`).")
    ] = None,
    concentration: Annotated[
        str | None, typer.Option(help="Strength instead of a product, e.g. 1000mcg/mL.")
    ] = None,
    route: Annotated[
        str | None,
        typer.Option(
            help="IM, SC, deep-SC, IV, intrathecal, oral ... (default: the product's first)."
        ),
    ] = None,
    site: Annotated[
        str | None,
        typer.Option(help="Injection site: deltoid, vastus lateralis, ventrogluteal ..."),
    ] = None,
    indication: Annotated[
        str | None, typer.Option(help="Check the dose against this indication's regimens.")
    ] = None,
    age_years: AgeYears = None,
    age_months: AgeMonths = None,
    weight_kg: WeightKg = None,
    sex: Sex = None,
    pregnant: Pregnant = False,
    breastfeeding: Breastfeeding = False,
    condition: Conditions = None,
    medication: Medications = None,
    allergy: Allergies = None,
    mix: Mix = None,
    expiry: Annotated[
        str | None, typer.Option(help="The product's expiry date, YYYY-MM-DD.")
    ] = None,
    assume_iu_is_mcg: Annotated[
        bool,
        typer.Option(
            "--assume-iu-is-mcg",
            help="Accept an IU dose as 1 IU = 1 mcg (recorded as an assumption).",
        ),
    ] = False,
    as_json: JsonOption = False,
    kb: KbOption = None,
) -> int:
    """The volume to draw for a dose, what to open, and every check with its basis. Exit 3 on a stop."""
    from b12.knowledge import load_knowledge
    from b12.services.dosing import DoseRequest, calculate_dose

    knowledge = load_knowledge(kb)
    request = DoseRequest(
        dose=dose,
        product=product,
        concentration=concentration,
        route=route,
        site=site,
        indication=indication,
        patient=build_patient(
            age_years,
            age_months,
            sex=sex,
            weight_kg=weight_kg,
            pregnant=pregnant,
            breastfeeding=breastfeeding,
            conditions=condition,
            medications=medication,
            allergies=allergy,
        ),
        mix=tuple(mix or ()),
        assume_iu_is_mcg=assume_iu_is_mcg,
        expiry=date_option(expiry, "--expiry"),
        today=date.today(),
    )
    result = calculate_dose(knowledge, request)
    if as_json:
        emit_json(result.to_dict())
    else:
        _show(result)
    return 3 if result.stops else 0


def _show(result: "object") -> None:
    from b12.adapters.cli.output import console
    from b12.domain.display import format_mass
    from b12.services.dosing import DoseResult

    assert isinstance(result, DoseResult)
    out = console()
    same = result.dose.text.replace(" ", "") == format_mass(result.dose_mcg).replace(" ", "")
    written = "" if same else f"  (ordered as '{result.dose.text}')"
    out.print(f"[bold]DOSE[/bold]    {format_mass(result.dose_mcg)}{written}")
    strength = result.product.name if result.product else "given strength"
    if result.measured is not None:
        m = result.measured
        out.print(
            f"[bold]DRAW[/bold]    [bold]{format_volume(m.rounded_ml)}[/bold] of {result.concentration} ({strength})"
        )
        out.print(
            f"        on a {format_volume(m.syringe_ml)} syringe graduated {format_volume(m.graduation_ml)}"
            + (" - rounded, see below" if m.rounded else "")
        )
    elif result.units is not None:
        out.print(f"[bold]GIVE[/bold]    {result.units.normalize():f} unit(s) of {strength}")
    elif any(f.level is Level.STOP for f in result.findings):
        out.print("[bold]DRAW[/bold]    not calculated: resolve the stop below first")
    out.print(f"[bold]ROUTE[/bold]   {result.route}")
    for opened in result.containers:
        out.print(f"[bold]OPEN[/bold]    {opened.note}")
    for ingredient in result.ingredients:
        out.print(f"        {ingredient.shown} {ingredient.name}")
    show_findings(out, result.findings)
    out.print(f"[dim]knowledge {result.fingerprint}[/dim]")
