"""What `b12 dose` prints: one JSON object, or the dose, the volume, what to open and every finding.

Shared by the Typer command and the fast path, so both print the same thing; no Typer or Rich here.
"""

from __future__ import annotations

from b12.adapters.cli.output import PlainConsole, emit_json, show_findings
from b12.domain.display import format_mass, format_volume
from b12.domain.findings import Level
from b12.services.dosing import DoseResult


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
