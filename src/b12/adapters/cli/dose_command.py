"""`b12 dose`: from an order to the volume to draw, with every finding and its basis."""

from __future__ import annotations

from b12.adapters.cli import dose_view
from b12.adapters.cli.app import open_app


def dose(
    *,
    dose: str,
    product: str | None = None,
    concentration: str | None = None,
    route: str | None = None,
    substance: str | None = None,
    site: str | None = None,
    indication: str | None = None,
    age_years: str | None = None,
    age_months: str | None = None,
    sex: str | None = None,
    weight_kg: str | None = None,
    pregnant: bool = False,
    breastfeeding: bool = False,
    condition: list[str] | None = None,
    medication: list[str] | None = None,
    allergy: list[str] | None = None,
    mix: list[str] | None = None,
    expiry: str | None = None,
    assume_iu_is_mcg: bool = False,
    as_json: bool = False,
    kb: str | None = None,
) -> int:
    """The volume to draw for a dose, what to open, and every check with its basis. Exit 3 on a stop."""
    options = dict(locals())  # exactly the parameters above, by name (taken before anything else)
    app = open_app(kb=kb)
    return dose_view.run(lambda _folder: app.knowledge, **options)
