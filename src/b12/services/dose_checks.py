"""The checks of a dose order: plausibility, indication range, injection site, route, product.

Each returns findings; none raises for a clinical reason. The codes are listed in dosing.py.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from b12.domain.display import format_mass, format_number, format_volume
from b12.domain.findings import Finding, Level, finding, suggest
from b12.domain.patient import ADULT_MONTHS, Patient
from b12.domain.quantity import Mass
from b12.domain.routes import INJECTED
from b12.errors import about
from b12.knowledge.base import Knowledge
from b12.services.patient_groups import (
    CHILDREN,
    group_regimens,
    population_fits,
    treats_deficiency,
)

if TYPE_CHECKING:
    from b12.knowledge.entries import InjectionSite, Product

TRUSTED = 4  # guideline or regulatory


def slip_factor(kb: Knowledge) -> Decimal:
    """How many times the largest trusted single dose a dose must be to read as a mg/mcg slip: the
    knowledge's unit-slip audit rule (audit.yaml), so the order check and the population audit agree."""
    factor: Decimal | None = kb.get("audit-rules", "unit-slip").factor
    if factor is None:
        raise ValueError("audit rule unit-slip needs `factor` in audit.yaml")
    return factor


def weak_positions(conflict: Any) -> tuple[str, ...]:
    """The sources of the positions a conflict does not follow (what an assumption rests on)."""
    return tuple(s for p in conflict.positions if p.id != conflict.default for s in p.sources)


def largest_trusted_dose(kb: Knowledge, injected: bool = True) -> tuple[Decimal, tuple[str, ...]]:
    """The largest single dose any trusted regimen gives by injection (or, with injected=False,
    by any other route), and the regimens that give it (kept on the knowledge)."""
    return kb.memo((largest_trusted_dose, injected), lambda: _largest_trusted_dose(kb, injected))


def _largest_trusted_dose(kb: Knowledge, injected: bool) -> tuple[Decimal, tuple[str, ...]]:
    best = Decimal(0)
    ids: list[str] = []
    for regimen in kb.regimens.values():
        if kb.trust(regimen.sources) < TRUSTED or regimen.status == "contradicted":
            continue
        for phase in regimen.phases:
            routes = phase.routes or regimen.routes
            if bool(INJECTED & set(routes)) != injected:
                continue
            top = (phase.dose_to_mcg or phase.dose_mcg).max
            if top > best:
                best, ids = top, [regimen.id]
            elif top == best:
                ids.append(regimen.id)
    return best, tuple(ids)


def regimen_sources(kb: Knowledge, regimen_ids: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for r in regimen_ids for s in kb.regimens[r].sources))


def plausibility(
    kb: Knowledge, mass: Mass, *, slip_possible: bool, route: str = "IM"
) -> list[Finding]:
    injected = route in INJECTED
    top, regimen_ids = largest_trusted_dose(kb, injected)
    gives = "injects" if injected else f"gives by the {route} route"
    if top == 0 or mass.mcg <= top:
        return []  # the common case (or no trusted regimen to compare with): nothing to build
    sources = regimen_sources(kb, regimen_ids)
    values = {"dose": format_mass(mass.mcg), "largest trusted single dose": format_mass(top)}
    factor = slip_factor(kb)
    if mass.mcg >= top * factor:
        as_mcg = mass.mcg / 1000
        if slip_possible and 1 <= as_mcg <= top:
            return [
                finding(
                    "DOSE_UNIT_SLIP",
                    Level.STOP,
                    f"{format_mass(mass.mcg)} is {format_number(mass.mcg / top)} times the largest single "
                    f"dose any trusted regimen {gives} ({format_mass(top)}): a mg/mcg slip? The likely "
                    f"intended dose is {format_mass(as_mcg)}.",
                    sources,
                    values,
                    suggestion=suggest(
                        f"if {format_mass(as_mcg)} was meant, order {format_mass(as_mcg)}",
                        set="dose",
                        to=format_mass(as_mcg),
                    ),
                )
            ]
        return [
            finding(
                "DOSE_IMPLAUSIBLE",
                Level.STOP,
                f"{format_mass(mass.mcg)} is at least {format_number(factor)} times the largest single dose any trusted regimen "
                f"{gives} ({format_mass(top)}). Check the order.",
                sources,
                values,
            )
        ]
    if mass.mcg > top:
        return [
            finding(
                "DOSE_ABOVE_TRUSTED_MAX",
                Level.WARNING,
                f"{format_mass(mass.mcg)} is above the largest single dose any trusted regimen {gives} "
                f"({format_mass(top)}).",
                sources,
                values,
            )
        ]
    return []


class _IndicationRanges(NamedTuple):
    """What indication_range needs for one indication and patient group, whatever the dose."""

    indication: Any
    ranges: tuple[tuple[Decimal, Decimal], ...]  # (lowest, highest) per phase, sorted
    shown: str
    regimens: str
    sources: tuple[str, ...]
    group: str  # " for a child", " for an infant" or ""


def _indication_ranges(kb: Knowledge, name: str, population: str | None) -> _IndicationRanges:
    return kb.memo(
        (_indication_ranges, name, population),
        lambda: _indication_ranges_computed(kb, name, population),
    )


def _indication_ranges_computed(
    kb: Knowledge, name: str, population: str | None
) -> _IndicationRanges:
    """The dose ranges of the regimens for the indication written for the patient's group (age):
    a child's from the children's regimen, an adult's from the adult ones."""
    with about("indication"):
        indication = kb.lookup("indications", name, "indication")
    regimens = [
        r
        for r in kb.regimens_for(indication.id)
        if r.status != "contradicted" and population_fits(r.population, population)
    ]
    if population in CHILDREN and treats_deficiency(kb, indication):
        regimens += [r for r in group_regimens(kb, False, population) if r not in regimens]
    top = max((kb.trust(r.sources) for r in regimens), default=0)
    trusted = [r for r in regimens if kb.trust(r.sources) >= min(TRUSTED, top)]
    ranges = tuple(
        sorted(
            {(p.dose_mcg.min, (p.dose_to_mcg or p.dose_mcg).max) for r in trusted for p in r.phases}
        )
    )
    shown = ", ".join(
        format_mass(lo) if lo == hi else f"{format_number(lo)}-{format_mass(hi)}"
        for lo, hi in ranges
    )
    group = {"child": " for a child", "infant": " for an infant"}.get(population or "", "")
    return _IndicationRanges(
        indication,
        ranges,
        shown,
        ", ".join(r.id for r in trusted),
        tuple(dict.fromkeys(s for r in trusted for s in r.sources)),
        group,
    )


def indication_range(
    kb: Knowledge, name: str, mass: Mass, population: str | None = None
) -> list[Finding]:
    """The dose against the regimens for the indication and the patient's group (population_of)."""
    table = _indication_ranges(kb, name, population)
    indication = table.indication
    if not table.ranges:
        return [
            finding(
                "DOSE_OUTSIDE_INDICATION",
                Level.INFO,
                f"No regimen in the knowledge base doses {indication.name}{table.group}; the dose was "
                "not range-checked.",
                indication.sources,
                {"indication": indication.id},
            )
        ]
    if any(low <= mass.mcg <= high for low, high in table.ranges):
        return []
    values = {
        "dose": format_mass(mass.mcg),
        "indication": indication.id,
        "regimens": table.regimens,
    }
    if table.group:
        values["patient"] = population or ""
    return [
        finding(
            "DOSE_OUTSIDE_INDICATION",
            Level.WARNING,
            f"{format_mass(mass.mcg)} is outside the doses the regimens for {indication.name}"
            f"{table.group} use ({table.shown}).",
            table.sources,
            values,
        )
    ]


SiteLimits = tuple[tuple["InjectionSite", tuple[Decimal, tuple[str, ...]] | None], ...]


def site_limits(kb: Knowledge, age_months: Decimal) -> SiteLimits:
    """Every site with its volume limit at this age (None where the sources give none)."""
    return kb.memo(
        (site_limits, age_months),
        lambda: tuple((s, site_limit(kb, s, age_months)) for s in kb.all("sites").values()),
    )


def site_limit(
    kb: Knowledge, site: InjectionSite, age_months: Decimal
) -> tuple[Decimal, tuple[str, ...]] | None:
    """The site's maximum volume for this age, from its most trusted limit."""
    matching = [
        lim
        for lim in site.limits
        if lim.age_from_months <= age_months
        and (lim.age_to_months is None or age_months < lim.age_to_months)
    ]
    if not matching:
        return None
    best = max(kb.trust(lim.sources) for lim in matching)
    chosen = min(
        (lim for lim in matching if kb.trust(lim.sources) == best), key=lambda lim: lim.max_ml
    )
    return chosen.max_ml, chosen.sources


class _RouteSites(NamedTuple):
    """What site_checks needs for one route at one age that does not depend on the volume."""

    sites: tuple[InjectionSite, ...]
    largest: Decimal | None  # the largest limit of any site at any age
    # (limit, names, sources) by limit, ascending: the sites that take any volume up to `limit`
    takers: tuple[tuple[Decimal, str, tuple[str, ...]], ...]
    known_here: str  # the sites with a limit for the route, as VOLUME_ABOVE_AGE_LIMITS lists them
    known_sources: tuple[str, ...]
    # where no site has a limit at this age: the nearest younger age band that has some, as
    # (its largest limit, the band and its sites in words, their sources)
    younger: tuple[Decimal, str, tuple[str, ...]] | None = None


def _route_sites(kb: Knowledge, age_months: Decimal, route: str) -> _RouteSites:
    """What site_checks needs for ``route`` at this age (kept on the knowledge)."""
    return kb.memo(
        (_route_sites, age_months, route), lambda: _route_sites_now(kb, age_months, route)
    )


def _route_sites_now(kb: Knowledge, age_months: Decimal, route: str) -> _RouteSites:
    table = site_limits(kb, age_months)
    sites = tuple(s for s, _ in table)
    limits = {s.id: lim for s, lim in table}
    candidates = [
        (s, lim)
        for s in sites
        if (lim := limits[s.id]) is not None and not s.avoid and route in s.routes
    ]
    takers = []
    for bound in sorted({lim[0] for _, lim in candidates}):
        chosen = [(s, lim) for s, lim in candidates if bound <= lim[0]]
        names = ", ".join(f"{s.name} (up to {format_volume(lim[0])})" for s, lim in chosen)
        sources = tuple(dict.fromkeys(src for _, lim in chosen for src in lim[1]))
        takers.append((bound, names, sources))
    known_here = [
        (s, lim) for s in sites if (lim := limits[s.id]) is not None and route in s.routes
    ]
    return _RouteSites(
        sites,
        max((lim.max_ml for s in sites for lim in s.limits), default=None),
        tuple(takers),
        ", ".join(f"{s.name} up to {format_volume(lim[0])}" for s, lim in known_here),
        tuple(dict.fromkeys(src for _, lim in known_here for src in lim[1])),
        None if known_here else _younger_band(sites, age_months, route),
    )


def _younger_band(
    sites: tuple[InjectionSite, ...], age_months: Decimal, route: str
) -> tuple[Decimal, str, tuple[str, ...]] | None:
    """The nearest younger age band with a limit for the route (a 6-year-old between the
    toddler and the adult limits): its largest limit, the band and sites in words, the sources."""
    below = [
        (s, lim)
        for s in sites
        if route in s.routes and not s.avoid
        for lim in s.limits
        if lim.age_to_months is not None and lim.age_to_months <= age_months
    ]
    if not below:
        return None
    edge = max(lim.age_to_months for _, lim in below if lim.age_to_months is not None)
    band = [(s, lim) for s, lim in below if lim.age_to_months == edge]
    cap = max(lim.max_ml for _, lim in band)
    start = min(lim.age_from_months for _, lim in band)
    words = ", ".join(f"{s.name} up to {format_volume(lim.max_ml)}" for s, lim in band)
    shown = f"ages {_months(start)} to {_months(edge)}: {words}"
    return cap, shown, tuple(dict.fromkeys(src for _, lim in band for src in lim.sources))


def _months(months: Decimal | int) -> str:
    whole = Decimal(months)
    if whole % 12:
        return f"{whole} months"
    years = whole / 12
    return f"{format_number(years)} year{'' if years == 1 else 's'}"


def site_checks(
    kb: Knowledge, site_name: str | None, route: str, volume_ml: Decimal, patient: Patient
) -> list[Finding]:
    if route not in INJECTED:
        return []
    age = patient.age_months if patient.age_months is not None else ADULT_MONTHS
    age_note = patient.describe_age() + ("" if patient.age_known else " (adult limits used)")
    table = _route_sites(kb, age, route)
    # The sites that take the volume: those whose limit is at least the first bound >= volume.
    takers: tuple[str, tuple[str, ...]] | None = None
    for bound, names, sources in table.takers:
        if volume_ml <= bound:
            takers = names, sources
            break
    taker_names = "none" if takers is None else takers[0]
    largest = table.largest
    if largest is not None and volume_ml > largest:
        sites = table.sites
        all_sources = tuple(
            dict.fromkeys(src for s in sites for lim in s.limits for src in lim.sources)
        )
        return [
            finding(
                "VOLUME_IMPLAUSIBLE",
                Level.STOP,
                f"No injection site takes {format_volume(volume_ml)} in one injection at any age (the "
                f"largest is {format_volume(largest)}). Check the dose and the strength.",
                all_sources,
                {"volume": format_volume(volume_ml)},
            )
        ]
    out: list[Finding] = []
    if takers is None and table.known_here:
        volume = format_volume(volume_ml)
        out.append(
            finding(
                "VOLUME_ABOVE_AGE_LIMITS",
                Level.WARNING,
                f"No {route} site takes {volume} in one injection at age {age_note} "
                f"({table.known_here}); split the dose between sites or check the order.",
                table.known_sources,
                {"volume": volume, "age": age_note},
            )
        )
    if table.younger is not None:
        out.append(_no_limit_at_age(table.younger, route, volume_ml, age_note))
    if site_name is None:
        if takers is None:
            return out
        volume = format_volume(volume_ml)
        return [
            finding(
                "SITE_SUGGESTION",
                Level.INFO,
                f"Sites that take {volume} {route} at age {age_note}: {taker_names}.",
                takers[1],
                {"volume": volume, "age": age_note},
            )
        ]
    return out + named_site_checks(kb, site_name, route, volume_ml, age, age_note, taker_names)


def _no_limit_at_age(
    younger: tuple[Decimal, str, tuple[str, ...]], route: str, volume_ml: Decimal, age_note: str
) -> Finding:
    """No site has a sourced limit at this age: judge the volume by the nearest younger band."""
    cap, band, sources = younger
    volume = format_volume(volume_ml)
    values = {"volume": volume, "age": age_note, "nearest younger limits": band}
    if volume_ml > cap:
        return finding(
            "SITE_NO_LIMIT_AT_AGE",
            Level.WARNING,
            f"The sources give no {route} volume limit per site at age {age_note}, and {volume} is "
            f"more than any site takes at the nearest younger ages ({band}). Split the dose "
            "between sites or check the order.",
            sources,
            values,
        )
    return finding(
        "SITE_NO_LIMIT_AT_AGE",
        Level.INFO,
        f"The sources give no {route} volume limit per site at age {age_note}; {volume} is within "
        f"what a site takes at the nearest younger ages ({band}).",
        sources,
        values,
    )


def named_site_checks(
    kb: Knowledge,
    site_name: str,
    route: str,
    volume_ml: Decimal,
    age: Decimal,
    age_note: str,
    taker_names: str,
) -> list[Finding]:
    """The checks of the site the order names: advised against, wrong route, no limit, too much."""
    out: list[Finding] = []
    with about("site"):
        site: InjectionSite = kb.lookup("sites", site_name, "site")
    if site.avoid:
        out.append(
            finding(
                "SITE_AVOID",
                Level.WARNING,
                f"The sources advise against the {site.name} ({site.note or 'see its sources'}). "
                f"Sites that take this volume: {taker_names}.",
                site.sources,
                {"site": site.id},
                conflict=site.conflict,
            )
        )
    if route not in site.routes:
        out.append(
            finding(
                "SITE_ROUTE_MISMATCH",
                Level.WARNING,
                f"The {site.name} is used for {', '.join(site.routes)}, not {route}.",
                site.sources,
                {"site": site.id, "route": route},
            )
        )
    limit = site_limit(kb, site, age)
    if limit is None:
        out.append(
            finding(
                "SITE_NO_LIMIT_FOR_AGE",
                Level.WARNING,
                f"The sources give no volume limit for the {site.name} at age {age_note}. "
                f"Sites with a known limit that take {format_volume(volume_ml)}: {taker_names}.",
                site.sources,
                {"site": site.id, "age": age_note},
            )
        )
    elif volume_ml > limit[0]:
        out.append(
            finding(
                "SITE_VOLUME_LIMIT",
                Level.WARNING,
                f"{format_volume(volume_ml)} is more than the {site.name} takes at age {age_note} "
                f"(up to {format_volume(limit[0])}). Sites that take it: {taker_names}.",
                limit[1],
                {"volume": format_volume(volume_ml), "site": site.id, "age": age_note},
            )
        )
    return out


def product_checks(kb: Knowledge, product: Product, route: str) -> list[Finding]:
    """The product's own route facts: a route it is not made for, and its label's route advice.

    Age limits, excipients and contraindications are screening rules (screening.yaml), which every
    dose, plan and administration runs; they are not repeated here.
    """
    out: list[Finding] = []
    advised = {a.route for a in product.route_advice if a.status != "contradicted"}
    if route not in product.routes and route not in advised:
        # Injecting a tablet or drops is impossible: a stop. Another route for a solution is a
        # warning; where the sources advise against the route, their own advice says it better.
        impossible = route in INJECTED and product.form != "injection"
        out.append(
            finding(
                "ROUTE_NOT_FOR_PRODUCT",
                Level.STOP if impossible else Level.WARNING,
                f"{product.name} is not made for {route}; its routes are {', '.join(product.routes)}.",
                product.sources,
                {"route": route, "product": product.id},
            )
        )
    for advice in product.route_advice:
        if advice.route != route or advice.status == "contradicted":
            continue
        code = {"avoid": "ROUTE_AVOID", "specialist-only": "ROUTE_SPECIALIST_ONLY"}.get(
            advice.advice
        )
        if code is not None:
            out.append(
                finding(
                    code, Level.WARNING, f"{route}: {advice.says}", advice.sources, {"route": route}
                )
            )
    return out
