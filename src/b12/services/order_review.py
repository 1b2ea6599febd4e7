"""One order as another system sends it (an EHR's draft order): the checks b12 gives everywhere.

    review_order(kb, order) -> Reviewed(findings, dose result)

The ordered dose goes through the dose check (plausibility, a mg/mcg slip, the indication's range,
the route, the volume when the strength is known) with the screening of the patient and the
indication (dosing.calculate_dose); when a screening finding advises against the ordered cobalamin
for the indication, the planner's advice names the indication's regimen with another one, and it
becomes that finding's suggestion (planning.other_substance); a baseline B12 is judged as a plan
judges it (plan_findings.baseline_b12). No rule is added here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from b12.domain.dose_input import ParsedDose
from b12.domain.findings import Finding
from b12.domain.lab_values import Measurement
from b12.domain.patient import Patient
from b12.domain.quantity import Concentration, Mass
from b12.errors import InputError
from b12.knowledge.base import Knowledge
from b12.services.dosing import DoseRequest, DoseResult, calculate_dose


@dataclass(frozen=True)
class OrderToReview:
    """A draft order, read: the dose, its cobalamin or product or strength, route, indication."""

    dose: ParsedDose
    substance: str | None = None  # a cobalamin id, when no product names it
    product: str | None = None
    concentration: Concentration | None = None
    route: str | None = None
    indication: str | None = None
    patient: Patient = field(default_factory=Patient)
    b12: Measurement | None = None  # the latest B12 level, when the EHR sent one

    def dose_request(self, dose: ParsedDose | None = None) -> DoseRequest:
        return DoseRequest(
            dose or self.dose, self.product, self.concentration, self.route,
            indication=self.indication, patient=self.patient,
            substance=None if self.product else self.substance, needs_strength=False,
        )  # fmt: skip


@dataclass(frozen=True)
class Reviewed:
    findings: tuple[Finding, ...]
    dose: DoseResult
    fingerprint: str


def review_order(kb: Knowledge, order: OrderToReview) -> Reviewed:
    """Every finding b12 has on the order (InputError when the order cannot be understood)."""
    result = calculate_dose(kb, order.dose_request())
    findings = list(result.findings)
    if order.indication is not None:
        findings = _with_regimen_advice(kb, order, result, findings)
    if order.b12 is not None:
        from b12.services.plan_findings import baseline_b12

        findings.append(baseline_b12(kb, order.b12, order.patient))
    ordered = sorted(findings, key=lambda f: -f.level.rank)
    return Reviewed(tuple(ordered), result, kb.fingerprint)


def _with_regimen_advice(
    kb: Knowledge, order: OrderToReview, result: DoseResult, findings: list[Finding]
) -> list[Finding]:
    from b12.services.planning import advising_against, other_substance
    from b12.services.regimen_choice import choose_regimen

    product = result.product
    given = (
        {i.substance for i in product.ingredients if i.substance.endswith("cobalamin")}
        if product is not None
        else {order.substance}
        if order.substance
        else set()
    )
    if not given or not advising_against(given, findings):
        return findings  # the common case: nothing advises against the cobalamin ordered
    try:
        choice = choose_regimen(
            kb, order.indication, None, neuro=False, patient=order.patient, product=product
        )
    except InputError:  # an indication with no regimen to name: the screening stands alone
        return findings
    advice = other_substance(kb, choice, given, findings)
    if not advice or advice[0].suggestion is None:
        return findings + advice
    # The finding that advises against the cobalamin carries the regimen to follow instead.
    against = {s for f in advice for s in f.basis.sources}
    out = []
    for f in findings:
        named = f.basis.values.get("substance") in given and "condition" in f.basis.values
        if named and f.suggestion is None and set(f.basis.sources) & against:
            f = replace(f, suggestion=advice[0].suggestion)
            against = set()  # once
        out.append(f)
    return out if not against else out + advice


def volume_for(kb: Knowledge, order: OrderToReview, dose: Mass) -> Decimal | None:
    """The volume to draw for ``dose`` at the order's strength (None when it has none)."""
    try:
        result = calculate_dose(kb, order.dose_request(ParsedDose.of(dose)))
    except InputError:
        return None
    return None if result.measured is None else result.measured.rounded_ml
