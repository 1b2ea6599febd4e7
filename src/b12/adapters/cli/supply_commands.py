"""Supply at home: `b12 supply show`, `b12 supply dispense`, `b12 supply waste`."""

from __future__ import annotations

from typing import Any

from b12.adapters.cli.app import open_app
from b12.adapters.cli.option_values import date_option
from b12.adapters.cli.output import console, emit_json, show_findings, table
from b12.adapters.cli.record_options import when, who
from b12.domain.jsonable import to_json
from b12.errors import InputError


def _required_date(text: str | None, option: str) -> Any:
    day = date_option(text, option)
    if day is None:
        raise InputError(f"{option}: write the date, YYYY-MM-DD", field=option.removeprefix("--"))
    return day


def show(
    *,
    code: str,
    at: str | None = None,
    lead_days: int | None = None,
    db: str | None = None,
    kb: str | None = None,
    as_json: bool = False,
) -> int:
    """The supply at home: containers left, doses drawn, waste, runs out on, ask for a new
    prescription by."""
    from b12.services.home_supply import home_supply

    b12 = open_app(db, kb)
    lead = b12.settings.lead_days if lead_days is None else lead_days
    found = home_supply(
        b12.unit_of_work, b12.knowledge, code, when(at, b12, future=True).date(), lead
    )
    d = to_json(found.to_dict())
    if as_json:
        emit_json(d)
        return 0
    c = console()
    c.print(
        "[bold]Supply at home of {code}[/bold] on {date}: {left} container(s) left, {ml} mL.",
        code=code, date=d["date"], left=d["containers_left"], ml=d["volume_left_ml"],
    )  # fmt: skip
    if d["doses_owed"] is None:
        c.print("No active prescription, or nothing dispensed: no run-out date.")
    elif d["runs_out_on"] is None:
        c.print(
            "Covers the {n} planned doses still owed (to {until}).",
            n=d["doses_owed"], until=d["covered_until"] or "-",
        )  # fmt: skip
    else:
        c.print(
            "Runs out on {out} (covers {covered} of {owed} doses still owed). Ask for a new "
            "prescription {by} {ask} ({lead} days before: policy, a setting, not a clinical fact).",
            out=d["runs_out_on"], covered=d["doses_covered"], owed=d["doses_owed"],
            by="now: the day to ask by was" if d["ask_now"] else "by",
            ask=d["ask_for_prescription_by"], lead=d["lead_days"],
        )  # fmt: skip
    for product, days in d["in_use_days"].items():
        life = "not in the knowledge base" if days is None else f"{days} days"
        c.print("In-use life of an opened vial of {p}: {life}.", p=product, life=life)
    rows = [
        (x["lot"], x["number"], x["product"], x["expiry"], x["state"], x["remaining_ml"],
         x["opened_on"] or "", x["in_use_until"] or "")
        for x in d["containers"]
    ]  # fmt: skip
    c.print(
        table(
            "Containers dispensed",
            ("lot", "#", "product", "expiry", "state", "mL left", "opened", "use until"),
            rows,
        )
    )
    if d["wastes"]:
        c.print(
            table(
                "Waste",
                ("on", "containers", "mL", "reason", "who"),
                [(w["on"], w["containers"], w["volume_ml"] or "", w["reason"], w["recorded_by"])
                 for w in d["wastes"]],
            )
        )  # fmt: skip
    show_findings(c, found.findings)
    return 0


def dispense(
    *,
    code: str,
    product: str,
    count: int,
    lot: str,
    expiry: str,
    at: str | None = None,
    db: str | None = None,
    by: str | None = None,
    kb: str | None = None,
    as_json: bool = False,
) -> int:
    """Record ampoules or vials dispensed to a patient for use at home."""
    from b12.services.home_supply import dispense as dispense_packs

    b12 = open_app(db, kb)
    moment = when(at, b12)
    done = dispense_packs(
        b12.unit_of_work, b12.knowledge, code, product, count, lot,
        _required_date(expiry, "--expiry"), who(by, b12), moment,
    )  # fmt: skip
    if as_json:
        emit_json(to_json({"dispensed": vars(done)}))
        return 0
    console().print(
        "Dispensed to {code}: {n} x {product}, lot {lot}, expiry {expiry} (id {id}).",
        code=code, n=done.containers, product=done.product, lot=done.lot,
        expiry=done.expiry.isoformat(), id=done.id,
    )  # fmt: skip
    return 0


def waste(
    *,
    code: str,
    lot: str,
    reason: str,
    count: int = 0,
    volume: str | None = None,
    at: str | None = None,
    db: str | None = None,
    by: str | None = None,
    kb: str | None = None,
    as_json: bool = False,
) -> int:
    """Record ampoules, vials or a volume discarded, and why."""
    from b12.services.home_supply import record_waste

    b12 = open_app(db, kb)
    moment = when(at, b12)
    done = record_waste(
        b12.unit_of_work, b12.knowledge, code, lot, count, volume, reason, moment.date(),
        who(by, b12), moment,
    )  # fmt: skip
    if as_json:
        emit_json(to_json({"waste": vars(done)}))
        return 0
    console().print(
        "Waste recorded for {code}: lot {lot}, {n} container(s){ml}, because {reason}.",
        code=code, lot=lot, n=done.containers,
        ml="" if done.volume_ml is None else f" and {done.volume_ml} mL", reason=done.reason,
    )  # fmt: skip
    return 0
