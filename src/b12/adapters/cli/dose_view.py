"""What `b12 dose` prints: one JSON object, or the dose, the volume, what to open and every finding.

Shared by the Typer command and the fast path, so both print the same thing; no Typer or Rich here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from b12.adapters.cli.option_values import build_patient, date_option
from b12.adapters.cli.output import PlainConsole, emit_json, show_findings
from b12.domain.display import format_mass, format_volume
from b12.domain.findings import Level
from b12.knowledge.base import Knowledge
from b12.services.dosing import DoseRequest, DoseResult, calculate_dose


def run(load: Callable[[str | None], Knowledge], **options: Any) -> int:
    """The dose command: ``options`` by the Typer command's parameter names (dose, product ...,
    as_json, kb); ``load`` reads the knowledge (``load_knowledge``)."""
    request = DoseRequest(
        dose=options["dose"],
        product=options["product"],
        concentration=options["concentration"],
        route=options["route"],
        site=options["site"],
        substance=options["substance"],
        indication=options["indication"],
        patient=build_patient(
            options["age_years"],
            options["age_months"],
            sex=options["sex"],
            weight_kg=options["weight_kg"],
            pregnant=options["pregnant"],
            breastfeeding=options["breastfeeding"],
            conditions=options["condition"],
            medications=options["medication"],
            allergies=options["allergy"],
        ),
        mix=tuple(options["mix"] or ()),
        assume_iu_is_mcg=options["assume_iu_is_mcg"],
        expiry=date_option(options["expiry"], "--expiry"),
        today=date.today(),
    )
    return respond(calculate_dose(load(options["kb"]), request), options["as_json"])


def respond(result: DoseResult, as_json: bool) -> int:
    """Print ``result``; the exit code: 3 when a finding is a stop, else 0."""
    if as_json:
        emit_json(result.to_dict())
    else:
        show(result)
    return 3 if result.stops else 0


def show(result: DoseResult) -> None:
    out = PlainConsole()
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
