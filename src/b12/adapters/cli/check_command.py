"""`b12 check`: screen a patient and an order; every finding with its basis. Exit 3 on an interrupt."""

from __future__ import annotations

from b12.adapters.cli.app import open_app
from b12.adapters.cli.option_values import build_patient
from b12.adapters.cli.output import EXIT_CODE, emit_json, show_findings
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


def check(
    *,
    age_years: str | None = None,
    age_months: str | None = None,
    sex: str | None = None,
    weight_kg: str | None = None,
    pregnant: bool = False,
    breastfeeding: bool = False,
    condition: list[str] | None = None,
    medication: list[str] | None = None,
    allergy: list[str] | None = None,
    product: str | None = None,
    route: str | None = None,
    mix: list[str] | None = None,
    bypass: list[str] | None = None,
    interrupt_on: str = "stop",
    as_json: bool = False,
    kb: str | None = None,
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
