"""The audit rules of ``audit.yaml``, each written once as an Ibis expression over the layout.

Every threshold comes from ``AuditThresholds`` (read from the knowledge) as a small parameter
table or a literal; the same expressions run on DuckDB and on Spark. Times are compared as epoch
seconds, never with an engine's hour or day difference (DuckDB counts boundaries crossed, Spark
elapsed time). Each finding names one administration: the dose itself, the first dose of a course
(missing monitoring), or the dose a lapse began after.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from b12.adapters.population.layout import DECIMAL
from b12.domain.patient import ADULT_MONTHS
from b12.services.audit_thresholds import AuditThresholds

DAY = 86_400
HOUR = 3_600
INFANT_MONTHS = 12
NONE = Decimal(-1)
Tables = dict[str, ir.Table]


def _seconds(time: ir.TimestampValue) -> ir.IntegerValue:
    """Whole seconds since 1970 (UTC): engines differ on a fraction (one rounds, one cuts). A
    64-bit count: Ibis types ``epoch_seconds`` as int32 and casts to it, which fails for every time
    after 2038-01-19 03:14:07."""
    return time.truncate("s").epoch_seconds().cast("int64")


def _dec(value: Decimal) -> ir.Value:
    return ibis.literal(value, type="decimal(18,6)")


def _params(rows: list[dict[str, Any]], schema: pa.Schema) -> ir.Table:
    return ibis.memtable(pa.Table.from_pylist(rows, schema=schema))


def range_table(t: AuditThresholds) -> tuple[ir.Table, int]:
    """One row per indication, route and age group, its ranges as columns lo0, hi0, lo1 ..."""
    width = max((len(r.ranges) for r in t.ranges), default=1)
    fields = [("r_indication", pa.string()), ("r_route", pa.string()), ("r_group", pa.string())]
    fields += [f for i in range(width) for f in ((f"lo{i}", DECIMAL), (f"hi{i}", DECIMAL))]
    fields.append(("r_top", DECIMAL))
    rows = []
    for r in t.ranges:
        row: dict[str, Any] = {
            "r_indication": r.indication,
            "r_route": r.route,
            "r_group": r.age_group,
        }
        for i in range(width):  # a missing range is -1 to -1, which holds no dose (no nulls:
            # Spark's in-memory tables cannot hold a null decimal)
            row[f"lo{i}"], row[f"hi{i}"] = r.ranges[i] if i < len(r.ranges) else (NONE, NONE)
        row["r_top"] = max(hi for _, hi in r.ranges)
        rows.append(row)
    return _params(rows, pa.schema(fields)), width


def phase_table(t: AuditThresholds) -> ir.Table:
    schema = pa.schema(
        [
            ("f_regimen", pa.string()),
            ("f_phase", pa.int32()),
            ("min_days", pa.float64()),
            ("longest_days", pa.float64()),
            ("maintained", pa.bool_()),
        ]
    )
    rows = [
        {
            "f_regimen": p.regimen,
            "f_phase": p.phase,
            "min_days": None if p.min_interval_days is None else float(p.min_interval_days),
            "longest_days": None
            if p.longest_interval_days is None
            else float(p.longest_interval_days),
            "maintained": p.maintained,
        }
        for p in t.phases
    ]
    return _params(rows, schema)


def _left(left: ir.Table, right: ir.Table, *keys: str) -> ir.Table:
    """``left`` with the columns of ``right`` where the keys match (the keys kept once)."""
    renamed = right.rename({f"k_{k}": k for k in keys})
    joined = left.left_join(renamed, [left[k] == renamed[f"k_{k}"] for k in keys])
    return joined.drop(*(f"k_{k}" for k in keys))


def joined(tables: Tables, t: AuditThresholds) -> ir.Table:
    """Each administration with its course, the patient's age group and its phase's rhythm: the
    columns the rules read and no other (the ids and the ward are read for the findings only).
    The phase is the administration's own column (its planned dose's, written beside it)."""
    a = tables["administrations"]
    a = a.select(
        "administration_key",
        "patient_key",
        "prescription_key",
        "phase",
        "given_at",
        "dose_mcg",
        "volume_ml",
        "product_id",
        "route",
        "expiry",
        bypassed=a.bypass_reason.notnull(),
    )
    rx = tables["prescriptions"].select(
        "prescription_key", "regimen_id", "indication_id", "end_date"
    )
    pt = tables["patients"].select("patient_key", "birth_date")
    e = _left(_left(a, rx, "prescription_key"), pt, "patient_key")
    phases = phase_table(t)
    e = e.left_join(phases, [e.regimen_id == phases.f_regimen, e.phase == phases.f_phase]).drop(
        "f_regimen", "f_phase"
    )
    given = e.given_at.date()
    birth = e.birth_date
    months = (
        (given.year() - birth.year()) * 12
        + (given.month() - birth.month())
        - ibis.ifelse(given.day() < birth.day(), 1, 0)
    )
    group = ibis.cases(
        (birth.isnull(), "unknown"),
        (months < INFANT_MONTHS, "infant"),
        (months < int(ADULT_MONTHS), "child"),
        else_="adult",
    )
    e = e.mutate(t_s=_seconds(e.given_at), age_group=group)
    return e.mutate(day_s=e.t_s - e.t_s % DAY)


#: What the rules read of a dose (``joined`` has more, for the report's distributions).
ROW_COLUMNS = (
    "administration_key",
    "patient_key",
    "prescription_key",
    "given_at",
    "dose_mcg",
    "volume_ml",
    "product_id",
    "route",
    "expiry",
    "bypassed",
    "indication_id",
    "end_date",
    "min_days",
    "longest_days",
    "maintained",
    "t_s",
    "age_group",
    "day_s",
)
#: What the course rules read of a dose, beside the dose before and after it in its course.
COURSE_COLUMNS = (
    "administration_key",
    "patient_key",
    "prescription_key",
    "indication_id",
    "end_date",
    "t_s",
    "day_s",
    "dose_mcg",
    "min_days",
    "longest_days",
    "maintained",
)


def in_course(e: ir.Table, columns: tuple[str, ...] = COURSE_COLUMNS) -> ir.Table:
    """``columns`` of each dose with the dose before and after it in the same prescription (by
    time, then key): one ordering, over these columns only, shared by every course rule."""
    e = e.select(*columns)
    w = ibis.window(group_by=e.prescription_key, order_by=[e.t_s, e.administration_key])
    return e.mutate(
        prev_s=e.t_s.lag().over(w),
        prev_day=e.day_s.lag().over(w),
        prev_dose=e.dose_mcg.lag().over(w),
        prev_min_days=e.min_days.lag().over(w),
        next_s=e.t_s.lead().over(w),
        course_rank=ibis.row_number().over(w),
    )


def enriched(tables: Tables, t: AuditThresholds) -> ir.Table:
    """Every column of ``joined`` with the dose before and after in the course (the report's
    distributions read it)."""
    e = joined(tables, t)
    return in_course(e, tuple(e.columns))


def _finding(
    e: ir.Table, t: AuditThresholds, code: str, value: ir.Value, limit: ir.Value, basis: str
) -> ir.Table:
    """A rule's findings by administration key (``audit`` adds the ids, the ward and the time)."""
    return e.select(
        rule=ibis.literal(code),
        level=ibis.literal(t.rule(code).level),
        f_key=e.administration_key,
        value=value.cast("float64"),
        limit=limit.cast("float64"),
        basis=ibis.literal(basis),
    )


def _is_slip(e: ir.Table, t: AuditThresholds) -> ir.BooleanValue:
    top = _dec(t.largest_injected_dose_mcg)
    as_mcg = e.dose_mcg / 1000
    return (
        (e.dose_mcg >= _dec(t.slip_factor * t.largest_injected_dose_mcg))
        & (as_mcg >= 1)
        & (as_mcg <= top)
    )


def unit_slip(e: ir.Table, t: AuditThresholds) -> ir.Table:
    basis = (
        f"at least {t.slip_factor} x the largest single dose a trusted regimen injects "
        f"({t.largest_injected_dose_mcg} mcg), and a plausible dose read as mg (audit.yaml unit-slip)"
    )
    found = e.filter(_is_slip(e, t))
    return _finding(
        found, t, "DOSE_UNIT_SLIP", found.dose_mcg, _dec(t.largest_injected_dose_mcg), basis
    )


def dose_outside_range(e: ir.Table, t: AuditThresholds) -> ir.Table:
    ranges, width = range_table(t)
    j = e.inner_join(
        ranges,
        [
            e.indication_id == ranges.r_indication,
            e.route == ranges.r_route,
            e.age_group == ranges.r_group,
        ],
    )
    inside = ibis.literal(False)
    for i in range(width):
        lo, hi = j[f"lo{i}"], j[f"hi{i}"]
        inside = inside | ((j.dose_mcg >= lo) & (j.dose_mcg <= hi))
    found = j.filter(~inside & ~_is_slip(j, t))
    basis = "outside every dose range of the trusted regimens for the indication, route and age group (regimens.yaml)"
    return _finding(found, t, "DOSE_OUTSIDE_RANGE", found.dose_mcg, found.r_top, basis)


def interval_below_minimum(e: ir.Table, t: AuditThresholds) -> ir.Table:
    mins = ibis.least(e.min_days.fill_null(e.prev_min_days), e.prev_min_days.fill_null(e.min_days))
    gap = e.t_s - e.prev_s
    allowed = mins * DAY - float(t.interval_tolerance_hours) * HOUR
    repeat = (e.prev_day == e.day_s) & (e.prev_dose == e.dose_mcg)
    found = e.filter(e.prev_s.notnull() & mins.notnull() & (gap < allowed) & ~repeat)
    basis = (
        f"shorter than the phase's shortest gap less {t.interval_tolerance_hours} h "
        "(regimens.yaml rhythm; audit.yaml interval-below-minimum); value and limit in hours"
    )
    fmins = ibis.least(
        found.min_days.fill_null(found.prev_min_days), found.prev_min_days.fill_null(found.min_days)
    )
    return _finding(
        found,
        t,
        "INTERVAL_BELOW_MINIMUM",
        (found.t_s - found.prev_s) / HOUR,
        fmins * 24 - float(t.interval_tolerance_hours),
        basis,
    )


def volume_dose_mismatch(e: ir.Table, t: AuditThresholds) -> ir.Table:
    schema = pa.schema([("c_product", pa.string()), ("c_amount", DECIMAL), ("c_per_ml", DECIMAL)])
    rows = [
        {"c_product": p.product, "c_amount": p.amount_mcg, "c_per_ml": p.per_ml}
        for p in t.products
        if p.amount_mcg is not None and p.per_ml is not None
    ]
    c = _params(rows, schema)
    j = e.filter(e.volume_ml.notnull()).inner_join(c, e.product_id == c.c_product)
    drawn = j.volume_ml * j.c_amount
    found = j.filter((drawn != j.dose_mcg * j.c_per_ml) & ~_is_slip(j, t))
    basis = "volume x the product's cobalamin per mL is not the dose recorded (products.yaml); value: mcg drawn"
    return _finding(
        found,
        t,
        "VOLUME_DOSE_MISMATCH",
        found.volume_ml * found.c_amount / found.c_per_ml,
        found.dose_mcg,
        basis,
    )


def duplicate_same_day(e: ir.Table, t: AuditThresholds) -> ir.Table:
    # The days where a patient had one dose more than once are few: they are found by counting
    # (no ordering), and only their doses are ranked by time.
    same = [e.patient_key, e.day_s, e.dose_mcg]
    repeated = (
        e.group_by(d_patient=same[0], d_day=same[1], d_dose=same[2])
        .aggregate(n=e.count())
        .filter(lambda g: g.n > 1)
    )
    twice = e.semi_join(
        repeated,
        [
            e.patient_key.identical_to(repeated.d_patient),
            e.day_s.identical_to(repeated.d_day),
            e.dose_mcg.identical_to(repeated.d_dose),
        ],
    ).select("administration_key", "patient_key", "day_s", "dose_mcg", "t_s")
    w = ibis.window(
        group_by=[twice.patient_key, twice.day_s, twice.dose_mcg],
        order_by=[twice.t_s, twice.administration_key],
    )
    ranked = twice.mutate(repeat=ibis.row_number().over(w))
    found = ranked.filter(ranked.repeat > 0)
    basis = (
        "the same dose already recorded that day (UTC); no trusted regimen gives two doses a day"
    )
    return _finding(found, t, "DUPLICATE_SAME_DAY", found.repeat + 1, ibis.literal(1), basis)


def expired_lot(e: ir.Table, t: AuditThresholds) -> ir.Table:
    found = e.filter(e.expiry.notnull() & (e.given_at.date() > e.expiry))
    basis = "given after the expiry date recorded for the lot; value: days after expiry"
    late = found.day_s - _seconds(found.expiry.cast("timestamp"))
    return _finding(found, t, "EXPIRED_LOT", late / DAY, ibis.literal(0), basis)


def route_advised_against(e: ir.Table, t: AuditThresholds) -> ir.Table:
    schema = pa.schema([("v_product", pa.string()), ("v_route", pa.string())])
    rows = [{"v_product": p.product, "v_route": r} for p in t.products for r in p.avoid_routes]
    v = _params(rows, schema)
    found = e.inner_join(v, [e.product_id == v.v_product, e.route == v.v_route])
    basis = "a route the product's sources advise against (products.yaml route_advice: avoid)"
    return _finding(found, t, "ROUTE_ADVISED_AGAINST", ibis.literal(1), ibis.literal(0), basis)


def _first_doses(e: ir.Table, indications: tuple[str, ...]) -> ir.Table:
    return e.filter((e.course_rank == 0) & e.indication_id.isin(list(indications)))


def _result_times(tables: Tables, analyte: str) -> ir.Table:
    r = tables["results"]
    r = r.filter(r.analyte == analyte)
    return r.select(r_patient=r.patient_key, r_s=_seconds(r.taken_at))


def no_potassium(e: ir.Table, tables: Tables, t: AuditThresholds) -> ir.Table:
    first = _first_doses(e, t.potassium_indications)
    k = _result_times(tables, "potassium")
    hours = float(t.potassium_hours)
    found = first.anti_join(
        k,
        [
            first.patient_key == k.r_patient,
            k.r_s >= first.day_s,
            k.r_s <= first.t_s + hours * HOUR,
        ],
    )
    basis = f"no potassium result from the day of the course's first dose to {t.potassium_hours} h after it (monitoring.yaml)"
    return _finding(found, t, "NO_POTASSIUM_48H", ibis.literal(0), ibis.literal(hours), basis)


def no_reticulocytes(e: ir.Table, tables: Tables, t: AuditThresholds, as_of: datetime) -> ir.Table:
    first = _first_doses(e, t.reticulocytes_indications)
    due = first.day_s + (t.reticulocytes_to_day + 1) * DAY
    first = first.filter(due <= int(as_of.timestamp()))
    r = _result_times(tables, "reticulocytes")
    found = first.anti_join(
        r,
        [
            first.patient_key == r.r_patient,
            r.r_s >= first.day_s + t.reticulocytes_from_day * DAY,
            r.r_s < first.day_s + (t.reticulocytes_to_day + 1) * DAY,
        ],
    )
    basis = (
        f"no reticulocyte count on days {t.reticulocytes_from_day}-{t.reticulocytes_to_day} "
        "after the course's first dose (monitoring.yaml)"
    )
    return _finding(
        found,
        t,
        "NO_RETICULOCYTES_DAY_10",
        ibis.literal(0),
        ibis.literal(t.reticulocytes_to_day),
        basis,
    )


def maintenance_lapsed(e: ir.Table, t: AuditThresholds, as_of: datetime) -> ir.Table:
    audit_end = int(as_of.timestamp())
    end_s = _seconds(e.end_date.cast("timestamp")) + DAY
    stop = ibis.ifelse(end_s.notnull() & (end_s < audit_end), end_s, audit_end)
    until = e.next_s.fill_null(stop)
    limit = e.longest_days * float(t.lapse_factor) * DAY
    found = e.filter(e.maintained.fill_null(False) & (until - e.t_s > limit))
    f_end = _seconds(found.end_date.cast("timestamp")) + DAY
    f_stop = ibis.ifelse(f_end.notnull() & (f_end < audit_end), f_end, audit_end)
    basis = (
        f"no dose for more than {t.lapse_factor} x the phase's longest interval "
        "(regimens.yaml; audit.yaml maintenance-lapsed); value and limit in days"
    )
    return _finding(
        found,
        t,
        "MAINTENANCE_LAPSED",
        (found.next_s.fill_null(f_stop) - found.t_s) / DAY,
        found.longest_days * float(t.lapse_factor),
        basis,
    )


def dose_after_hypersensitivity(e: ir.Table, tables: Tables, t: AuditThresholds) -> ir.Table:
    r = tables["reactions"]
    first = (
        r.filter(r.kind == "hypersensitivity")
        .group_by(h_patient=r.patient_key)
        .aggregate(h_s=_seconds(r.recorded_at).min())
    )
    j = e.inner_join(first, e.patient_key == first.h_patient)
    found = j.filter((j.t_s > j.h_s) & ~j.bypassed)
    basis = "given after a recorded hypersensitivity reaction, without a bypass reason (screening.yaml cobalamin-hypersensitivity)"
    return _finding(
        found,
        t,
        "DOSE_AFTER_HYPERSENSITIVITY",
        (found.t_s - found.h_s) / DAY,
        ibis.literal(0),
        basis,
    )


def _as_is(table: ir.Table) -> ir.Table:
    return table


def audit(
    tables: Tables,
    t: AuditThresholds,
    as_of: datetime,
    keep: Callable[[ir.Table], ir.Table] = _as_is,
) -> ir.Table:
    """Every finding of every rule, one row each (the layout's FINDINGS columns). ``keep`` is
    given the two tables every rule reads (each dose with its course; the same with the doses
    before and after it) and may hold them computed (``Table.cache``), so that the engine
    computes each once."""
    e = keep(joined(tables, t).select(*ROW_COLUMNS))
    c = keep(in_course(e))
    parts = [
        dose_outside_range(e, t),
        interval_below_minimum(c, t),
        unit_slip(e, t),
        volume_dose_mismatch(e, t),
        duplicate_same_day(e, t),
        expired_lot(e, t),
        route_advised_against(e, t),
        no_potassium(c, tables, t),
        no_reticulocytes(c, tables, t, as_of),
        maintenance_lapsed(c, t, as_of),
        dose_after_hypersensitivity(e, tables, t),
    ]
    found = ibis.union(*parts, distinct=False)
    a = tables["administrations"]
    named = a.select(
        "administration_key",
        "administration_id",
        "patient_id",
        "prescription_id",
        "ward",
        "given_at",
    )
    j = found.inner_join(named, found.f_key == named.administration_key)
    return j.select(
        "rule",
        "level",
        "administration_id",
        "patient_id",
        "prescription_id",
        "ward",
        "given_at",
        "value",
        "limit",
        "basis",
    ).rename(at="given_at")
