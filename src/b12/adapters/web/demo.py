"""A demo clinic for `make run` and the browser tests: patients, courses, results and accounts.

Seeded once into an upgraded, empty record through the use cases (so the audit trail holds it
all); a record that already has accounts is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from b12.bootstrap import App
from b12.domain.dose_input import parse_dose
from b12.domain.patient import Patient
from b12.services import accounts as acc
from b12.services.administering import GiveRequest, give
from b12.services.planning import PlanRequest
from b12.services.record import add_labs, add_patient, prescribe

PRODUCT = "cyanocobalamin-us-1000mcg-ml-10ml-vial"
#: Every demo account's password (a demo only: change or disable them before real use).
PASSWORD = "demo-b12-password"


@dataclass(frozen=True)
class DemoPatient:
    code: str
    age_years: int
    sex: Literal["female", "male"]
    started_days_ago: int  # the course's first dose, before today
    given: int  # how many of the doses due so far were given
    self_injection: bool = False  # prescribed for injection at home
    ward: str = "Ward 4"  # the list the MAR shows the patient on


PATIENTS = (
    DemoPatient("P-0001", 62, "female", 9, 4),  # with results before and during the course
    DemoPatient("P-0002", 71, "male", 3, 1, ward="Day unit"),
    DemoPatient("P-0003", 45, "female", 40, 12, True, "Community nursing"),  # injects herself
    DemoPatient("P-0004", 83, "female", 12, 5, True, "Community nursing"),  # carer.dee injects
    DemoPatient("P-0005", 58, "male", 0, 0, True, "Community nursing"),  # carer.dee injects
)
#: username: (role, linked patient codes, a caregiver who injects)
ACCOUNTS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "dr.ames": ("prescriber", (), False),
    "nurse.bo": ("nurse", (), False),
    "ph.chen": ("pharmacist", (), False),
    "pat.p3": ("patient", ("P-0003",), False),
    "carer.dee": ("caregiver", ("P-0004", "P-0005"), True),
}


def seed(app: App) -> bool:
    """Seed the demo clinic into ``app``'s record; False when it holds accounts already."""
    if acc.list_accounts(app.accounts):
        return False
    kb = app.knowledge
    now = app.clock.now().replace(microsecond=0)
    today = now.date()

    def at(day: date, hour: int) -> datetime:
        return min(datetime.combine(day, time(hour), now.tzinfo), now - timedelta(minutes=1))

    uow = app.unit_of_work
    for p in PATIENTS:
        start = today - timedelta(days=p.started_days_ago)
        profile = Patient(age_months=Decimal(p.age_years * 12), sex=p.sex)
        add_patient(uow, p.code, profile, "dr.ames", at(start - timedelta(days=2), 10), ward=p.ward)
        request = PlanRequest(start=start, indication="pernicious-anaemia", product=PRODUCT)
        done = prescribe(
            uow, kb, p.code, request, "dr.ames", at(start - timedelta(days=1), 11),
            self_injection=p.self_injection,
        )  # fmt: skip
        days = [] if done.prescription is None else [d.date for d in done.prescription.doses]
        for day in days[: p.given]:
            if day >= today:
                break
            dose = GiveRequest(p.code, at(day, 9), lot="C4471", expiry=today + timedelta(days=300))
            give(uow, kb, dose, "nurse.bo", app.clock)
        if p.code == "P-0001":
            _results(app, p.code, start)
    for name, (role, codes, injects) in ACCOUNTS.items():
        acc.add_account(
            app.accounts, app.passwords, name, PASSWORD, role, "demo", app.clock,
            patients=codes, self_injects=injects,
        )  # fmt: skip
    return True


#: (days after the start, results as a lab reports them)
RESULTS = (
    (-2, ("b12=110pg/mL", "hb=8.9g/dL", "reticulocytes=0.8%", "mcv=112fL")),
    (6, ("reticulocytes=4.6%", "potassium=3.9mmol/L", "hb=9.6g/dL")),
)


def _results(app: App, code: str, start: date) -> None:
    from b12.adapters.web.actions import reading

    now = app.clock.now().replace(microsecond=0)
    for days, texts in RESULTS:
        day = start + timedelta(days=days)
        if day <= now.date():
            readings = [reading(app, text) for text in texts]
            when = min(datetime.combine(day, time(15), now.tzinfo), now - timedelta(minutes=1))
            add_labs(app.unit_of_work, app.knowledge, code, readings, day, "lab", when)


def dose_text(mcg: Decimal) -> str:
    """For a test that types a dose: '1000 mcg' read back as the same mass."""
    text = f"{mcg.normalize():f} mcg"
    parse_dose(text)
    return text


def main() -> None:
    """`python -m b12.adapters.web.demo` (`make run`): seed the user's record once, print the URL
    and the demo logins, then serve on 127.0.0.1:8000 (B12_HOST, B12_PORT to change)."""
    import os

    from b12.adapters.web import serve
    from b12.bootstrap import Settings, build

    settings = Settings.read()
    host, port = os.environ.get("B12_HOST", "127.0.0.1"), int(os.environ.get("B12_PORT", "8000"))
    app = build(settings)
    fresh = seed(app)
    app.close()
    print("Demo clinic " + ("seeded." if fresh else "already seeded (accounts exist)."))
    print(f"Open http://{host}:{port}/ and log in with password {PASSWORD!r} as:")
    for name, (role, codes, _self) in ACCOUNTS.items():
        print(f"  {name:<10} {role}" + (f" ({', '.join(codes)})" if codes else ""))
    print("Ctrl+C stops the server.")
    serve(settings, host, port)


if __name__ == "__main__":
    main()
