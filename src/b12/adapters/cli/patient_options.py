"""The patient options every command shares (`--age-years`, `--condition` ...); their values are
read by ``option_values``."""
# No `from __future__ import annotations` in command modules: Typer reads the annotations at run time.

from typing import Annotated

import typer

AgeYears = Annotated[str | None, typer.Option("--age-years", help="Age in years, e.g. 45 or 2.5.")]
AgeMonths = Annotated[
    str | None, typer.Option("--age-months", help="Age in months (infants), e.g. 3.")
]
Sex = Annotated[str | None, typer.Option("--sex", help="female or male.")]
WeightKg = Annotated[str | None, typer.Option("--weight-kg", help="Weight in kg, e.g. 70.")]
Pregnant = Annotated[bool, typer.Option("--pregnant", help="The patient is pregnant.")]
Breastfeeding = Annotated[
    bool, typer.Option("--breastfeeding", help="The patient is breastfeeding.")
]
Conditions = Annotated[
    list[str] | None, typer.Option("--condition", help="A condition (repeat the option for more).")
]
Medications = Annotated[
    list[str] | None,
    typer.Option("--medication", help="A medicine taken (generic or brand; repeat for more)."),
]
Mix = Annotated[
    list[str] | None,
    typer.Option("--mix", help="Something else drawn into the same syringe (repeat for more)."),
]
Allergies = Annotated[
    list[str] | None, typer.Option("--allergy", help="An allergy (repeat for more).")
]
