"""What `b12 dose` prints: one JSON object, or the dose, the volume, what to open, the needle and
angle for the route and the patient (services/technique.py), and every finding.

No Rich here: the dose prints as plain text, styled on a terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from b12.adapters.cli import read
from b12.adapters.cli.option_values import build_patient, date_option
from b12.adapters.cli.output import EXIT_CODE, PlainConsole, emit_json, show_findings
from b12.domain.display import format_mass, format_volume
from b12.domain.findings import outcome
from b12.knowledge.base import Knowledge
from b12.services.dosing import DoseResult, calculate_dose
from b12.services.technique import NeedleAdvice, needle_for


def run(load: Callable[[str | None], Knowledge], **options: Any) -> int:
    """The dose command: ``options`` by the declared parameter names (dose, product ...,
    as_json, kb); ``load`` reads the knowledge (``load_knowledge``)."""
    patient = build_patient(
        options["age_years"],
        options["age_months"],
        sex=options["sex"],
        weight_kg=options["weight_kg"],
        pregnant=options["pregnant"],
        breastfeeding=options["breastfeeding"],
        conditions=options["condition"],
        medications=options["medication"],
        allergies=options["allergy"],
    )
    expiry = date_option(options["expiry"], "--expiry")
    kb = load(options["kb"])
    request = read.dose_request(
        kb,
        options["dose"],
        product=options["product"],
        concentration=options["concentration"],
        route=options["route"],
        site=options["site"],
        substance=options["substance"],
        indication=options["indication"],
        patient=patient,
        mix=tuple(options["mix"] or ()),
        assume_iu_is_mcg=options["assume_iu_is_mcg"],
        expiry=expiry,
        today=date.today(),
    )
    result = calculate_dose(kb, request)
    return respond(result, options["as_json"], needle_for(kb, result.route, request.patient))


def respond(result: DoseResult, as_json: bool, needle: NeedleAdvice | None = None) -> int:
    """Print ``result`` (and the needle); the exit code: 3 when a finding is a stop, else 0."""
    if as_json:
        emit_json({**result.to_dict(), "technique": None if needle is None else needle.to_dict()})
    else:
        show(result, needle)
    return EXIT_CODE[outcome(result.findings)]


def show_needle(out: Any, needle: NeedleAdvice | None) -> None:
    """The NEEDLE line and its basis (nothing for a route without a needle)."""
    if needle is None:
        return
    out.print(f"[bold]NEEDLE[/bold]  {needle.line}")
    values = "; ".join(f"{k}: {v}" for k, v in needle.values)
    out.print(f"        [dim]basis: {', '.join(needle.sources)}; {values}[/dim]")


def show(result: DoseResult, needle: NeedleAdvice | None = None) -> None:
    out = PlainConsole()
    same = result.dose.text.replace(" ", "") == format_mass(result.dose_mcg).replace(" ", "")
    written = "" if same else "  (ordered as '{text}')"
    out.print(
        "[bold]DOSE[/bold]    {dose}" + written,
        dose=format_mass(result.dose_mcg),
        text=result.dose.text,
    )
    strength = result.product.name if result.product else "given strength"
    if result.stops:
        # Nothing that reads as an instruction when the order must not be given: the stop comes
        # first, and no volume to draw, container to open or needle is printed.
        out.print(
            "[bold]STOP[/bold]    do not draw or give this order: resolve the stop below first"
        )
        out.print(f"[bold]ROUTE[/bold]   {result.route}")
        show_findings(out, result.findings)
        out.print(f"[dim]knowledge {result.fingerprint}[/dim]")
        return
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
    out.print(f"[bold]ROUTE[/bold]   {result.route}")
    show_needle(out, needle)
    for opened in result.containers:
        out.print(f"[bold]OPEN[/bold]    {opened.note}")
    for ingredient in result.ingredients:
        out.print(f"        {ingredient.shown} {ingredient.name}")
    show_findings(out, result.findings)
    out.print(f"[dim]knowledge {result.fingerprint}[/dim]")
