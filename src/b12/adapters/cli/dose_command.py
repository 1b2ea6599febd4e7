"""`b12 dose`: from an order to the volume to draw, with every finding and its basis."""
# No `from __future__ import annotations` in command modules: Typer reads the annotations at run time.

from typing import Annotated

import typer

from b12.adapters.cli import dose_view
from b12.adapters.cli.app import JsonOption, KbOption, command, open_app
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
    substance: Annotated[
        str | None,
        typer.Option(
            help="The cobalamin of a bare --concentration (cyanocobalamin, hydroxocobalamin ...): "
            "its route rules and warnings apply."
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
    options = dict(locals())  # exactly the parameters above, by name (taken before anything else)
    app = open_app(kb=kb)
    return dose_view.run(lambda _folder: app.knowledge, **options)
