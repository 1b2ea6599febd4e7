"""The response rules follow-up uses: reticulocyte rise, remission, and non-response triggers.

Pure functions on exact values. The thresholds are the sources' own:
  * reticulocytosis between day 3 and day 10 shows the response (US hydroxocobalamin label;
    facts:response-reticulocytosis-days-3-10); b12 counts any value above the baseline as a rise,
    because no source gives a minimum;
  * re-evaluate if reticulocytes do not stay at least twice normal while the haematocrit is
    below 35% (US cyanocobalamin label; monitoring:us-label-non-response); "normal" is the lab's
    own value, which the caller passes (no listed source gives one);
  * remission once red cells reach 4-4.5 x10^6/uL (seed 000, unsupported;
    facts:seed-000-remission-rbc): reached at 4.5 or more, "at the mark" from 4 to 4.5;
  * haemoglobin should rise by the end of the first week (facts:response-timeline), potassium
    can fall at the reticulocyte peak (US label); seed 004 asks for a recheck on red flags
    (its list of red flags is empty in the seed text).

Finding codes (level):
  RETIC_TOO_EARLY (info)            before day 3 no rise is expected yet
  RETIC_RISING (info)               above baseline by day 3-10 (or later)
  RETIC_AWAITED (info)              no rise yet, day 3-9: the window is still open
  RETIC_NO_RISE (warning)           no rise by day 10: re-evaluate diagnosis and treatment
  RETIC_BELOW_TWICE_NORMAL (warning) reticulocytes < 2x normal while haematocrit < 35%
  RETIC_TWICE_NORMAL_UNCHECKED (info) haematocrit < 35% but the lab's normal value is not given
  REMISSION_REACHED / REMISSION_AT_MARK / REMISSION_NOT_REACHED (info)
  HB_FALLING (warning)              haemoglobin lower than the previous value
  POTASSIUM_LOW (warning)           potassium below the lab's lower limit
  POTASSIUM_UNJUDGED (info)         potassium given without a lower limit (follow-up judges
                                    potassium with services/labs.py: LAB_HYPOKALAEMIA)
  NEURO_NEW_SYMPTOMS (warning)      new neurological symptoms during treatment
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from b12.domain.display import format_number
from b12.domain.findings import Finding, Level, finding

RISE_FROM_DAY = 3
RISE_BY_DAY = 10
HAEMATOCRIT_TARGET_PERCENT = Decimal(35)
REMISSION_RBC_LOW = Decimal(4)
REMISSION_RBC_HIGH = Decimal("4.5")

LABEL = "us-label-cyanocobalamin"
HYDROXO_LABEL = "us-label-hydroxocobalamin"
SEED_000 = "seed-000"
SEED_004 = "seed-004"
COBALIN = "cobalin-smpc"

RetStatus = Literal["too-early", "rising", "awaited", "no-rise"]
RemissionStatus = Literal["reached", "at-mark", "not-reached"]


@dataclass(frozen=True)
class Assessment:
    """A rule's verdict and the finding that says it."""

    status: str
    findings: tuple[Finding, ...]


def _n(value: Decimal) -> str:
    return format_number(value)


def reticulocyte_response(baseline: Decimal, value: Decimal, day: int) -> Assessment:
    """Has the reticulocyte count (%) risen above baseline by ``day`` of treatment?"""
    if day < 0:
        raise ValueError(f"day {day} is before treatment began")
    values = {"baseline": f"{_n(baseline)}%", "value": f"{_n(value)}%", "day": day}
    sources = (HYDROXO_LABEL, LABEL)
    if value > baseline and day >= RISE_FROM_DAY:
        return _one(
            "rising",
            "RETIC_RISING",
            Level.INFO,
            f"Reticulocytes rose from {_n(baseline)}% to {_n(value)}% by day {day}: a response.",
            sources,
            values,
        )
    if day < RISE_FROM_DAY:
        return _one(
            "too-early",
            "RETIC_TOO_EARLY",
            Level.INFO,
            f"Day {day}: a reticulocyte rise is expected between day {RISE_FROM_DAY} and day {RISE_BY_DAY}; too early to judge.",
            sources,
            values,
        )
    if day < RISE_BY_DAY:
        return _one(
            "awaited",
            "RETIC_AWAITED",
            Level.INFO,
            f"No reticulocyte rise yet on day {day} ({_n(value)}% against {_n(baseline)}% at baseline); the rise is expected by day {RISE_BY_DAY}: count again.",
            sources,
            values,
        )
    return _one(
        "no-rise",
        "RETIC_NO_RISE",
        Level.WARNING,
        f"No reticulocyte rise by day {day} ({_n(value)}% against {_n(baseline)}% at baseline): re-evaluate the diagnosis and the treatment (wrong diagnosis, ongoing malabsorption, missed doses, another cause of anaemia).",
        (*sources, SEED_004),
        values,
    )


def twice_normal(
    reticulocytes: Decimal, haematocrit: Decimal, normal: Decimal | None
) -> Assessment:
    """US label: while haematocrit < 35%, reticulocytes should stay at least twice normal."""
    values = {"reticulocytes": f"{_n(reticulocytes)}%", "haematocrit": f"{_n(haematocrit)}%"}
    if haematocrit >= HAEMATOCRIT_TARGET_PERCENT:
        return Assessment("not-applicable", ())
    if normal is None:
        return _one(
            "unchecked",
            "RETIC_TWICE_NORMAL_UNCHECKED",
            Level.INFO,
            f"Haematocrit {_n(haematocrit)}% is below 35%: reticulocytes should stay at least twice the lab's normal value; give that value to check {_n(reticulocytes)}%.",
            (LABEL,),
            values,
        )
    values["twice normal"] = f"{_n(2 * normal)}%"
    if reticulocytes >= 2 * normal:
        return Assessment("met", ())
    return _one(
        "below",
        "RETIC_BELOW_TWICE_NORMAL",
        Level.WARNING,
        f"Reticulocytes {_n(reticulocytes)}% are below twice normal ({_n(2 * normal)}%) while the haematocrit is {_n(haematocrit)}% (below 35%): re-evaluate the diagnosis and the treatment.",
        (LABEL,),
        values,
    )


def in_remission(
    rbc: Decimal, sex: str | None = None, haematocrit: Decimal | None = None
) -> Assessment:
    """Seed 000's remission mark (red cells 4-4.5 x10^6/uL), held back while haematocrit < 35%."""
    values: dict[str, object] = {"rbc": f"{_n(rbc)} x10^6/uL", "sex": sex or "not given"}
    sources: tuple[str, ...] = (SEED_000,)
    low_hct = haematocrit is not None and haematocrit < HAEMATOCRIT_TARGET_PERCENT
    if haematocrit is not None:
        values["haematocrit"] = f"{_n(haematocrit)}%"
        sources = (SEED_000, LABEL)
    if rbc < REMISSION_RBC_LOW or low_hct:
        why = (
            f"haematocrit {_n(haematocrit)}% is below 35%"
            if low_hct and haematocrit is not None
            else f"red cells {_n(rbc)} x10^6/uL are below the 4-4.5 mark"
        )
        return _one(
            "not-reached",
            "REMISSION_NOT_REACHED",
            Level.INFO,
            f"Not in haematological remission: {why}; keep monitoring.",
            sources,
            values,
        )
    if rbc < REMISSION_RBC_HIGH:
        return _one(
            "at-mark",
            "REMISSION_AT_MARK",
            Level.INFO,
            f"Red cells {_n(rbc)} x10^6/uL are within seed 000's remission mark of 4-4.5 x10^6/uL (a seed's figure, not an authority's); confirm against the lab's range.",
            sources,
            values,
        )
    return _one(
        "reached",
        "REMISSION_REACHED",
        Level.INFO,
        f"Red cells {_n(rbc)} x10^6/uL are at or above seed 000's remission mark (4-4.5 x10^6/uL).",
        sources,
        values,
    )


def non_response_triggers(
    *,
    day: int | None = None,
    reticulocytes_baseline: Decimal | None = None,
    reticulocytes: Decimal | None = None,
    reticulocytes_normal: Decimal | None = None,
    haematocrit: Decimal | None = None,
    haemoglobin_previous: Decimal | None = None,
    haemoglobin: Decimal | None = None,
    potassium: Decimal | None = None,
    potassium_low_limit: Decimal | None = None,
    new_neurological_symptoms: bool = False,
) -> tuple[Finding, ...]:
    """Every trigger for re-evaluation the given values raise (none given, none raised)."""
    found: list[Finding] = []
    if day is not None and reticulocytes_baseline is not None and reticulocytes is not None:
        check = reticulocyte_response(reticulocytes_baseline, reticulocytes, day)
        if check.status == "no-rise":
            found.extend(check.findings)
    if reticulocytes is not None and haematocrit is not None:
        found.extend(twice_normal(reticulocytes, haematocrit, reticulocytes_normal).findings)
    if (
        haemoglobin is not None
        and haemoglobin_previous is not None
        and haemoglobin < haemoglobin_previous
    ):
        found.append(
            finding(
                "HB_FALLING",
                Level.WARNING,
                f"Haemoglobin fell from {_n(haemoglobin_previous)} to {_n(haemoglobin)} g/dL during treatment, when it should rise: re-evaluate the diagnosis and the treatment.",
                (LABEL, SEED_004),
                {
                    "previous": f"{_n(haemoglobin_previous)} g/dL",
                    "latest": f"{_n(haemoglobin)} g/dL",
                },
            )
        )
    if potassium is not None:
        found.extend(_potassium(potassium, potassium_low_limit))
    if new_neurological_symptoms:
        found.append(
            finding(
                "NEURO_NEW_SYMPTOMS",
                Level.WARNING,
                "New neurological symptoms during treatment: reassess the diagnosis and the plan; nerve damage from a deficiency can become permanent.",
                (SEED_004, LABEL),
                {"new neurological symptoms": "yes"},
            )
        )
    return tuple(found)


def _potassium(value: Decimal, low_limit: Decimal | None) -> tuple[Finding, ...]:
    values: dict[str, object] = {"potassium": f"{_n(value)} mmol/L"}
    if low_limit is None:
        return (
            finding(
                "POTASSIUM_UNJUDGED",
                Level.INFO,
                f"Potassium {_n(value)} mmol/L: no lower limit was given to judge it; compare it with the lab's range (hypokalaemia can occur early in treatment).",
                (LABEL, COBALIN),
                values,
            ),
        )
    values["lab lower limit"] = f"{_n(low_limit)} mmol/L"
    if value >= low_limit:
        return ()
    return (
        finding(
            "POTASSIUM_LOW",
            Level.WARNING,
            f"Potassium {_n(value)} mmol/L is below the lab's lower limit ({_n(low_limit)} mmol/L): hypokalaemia during treatment can cause arrhythmia and sudden death; replace potassium and tell the prescriber.",
            (LABEL, COBALIN),
            values,
        ),
    )


def _one(
    status: str,
    code: str,
    level: Level,
    message: str,
    sources: tuple[str, ...],
    values: Mapping[str, object],
) -> Assessment:
    return Assessment(status, (finding(code, level, message, sources, values),))
