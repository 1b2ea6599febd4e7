"""Small builders the record tests share."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from b12.adapters.storage.unit_of_work import SqlUnitOfWork
from b12.bootstrap import App, Settings, build
from b12.domain.patient import Patient
from b12.domain.records import Administration
from b12.services.ports import UnitOfWorkFactory
from b12.services.record import add_patient, audit, new_id
from tests.fakes import FixedClock

#: A clock after every time these tests record (their courses are dated 2026 and 2027).
LATER = FixedClock(datetime(2028, 1, 1, tzinfo=UTC))


def open_app(url: str) -> App:
    """The App on the record at ``url`` (which a fixture has upgraded), its clock at LATER."""
    return build(Settings(database_url=url), clock=LATER)


def patient(unit_of_work: UnitOfWorkFactory, code: str = "P-1") -> str:
    return add_patient(
        unit_of_work, code, Patient(age_months=Decimal(600), sex="female"), "tester",
        datetime(2026, 1, 5, 8, tzinfo=UTC),
    ).id  # fmt: skip


def administration(patient_id: str, n: int, who: str = "writer") -> Administration:
    return Administration(
        new_id(), patient_id, None, datetime(2026, 1, 5, 9, tzinfo=UTC), Decimal("1000"), Decimal("1"),
        "cyanocobalamin-us-1000mcg-ml-10ml-vial", f"LOT{n}", date(2027, 1, 1), "IM",
        "left deltoid", who, None, (), "test",
    )  # fmt: skip


def write_one(uow: SqlUnitOfWork, patient_id: str, n: int, who: str = "writer") -> str:
    """One administration and its audit link, committed."""
    record = administration(patient_id, n, who)
    uow.administrations.add(record)
    audit(uow, who, "give", record, patient_id)
    uow.commit()
    return record.id


def cli(*argv: str) -> tuple[int, str, str]:
    """Run a b12 command as the console would: (exit code, stdout, stderr)."""
    return run_main(list(argv))


def run_main(argv: list[str]) -> tuple[int, str, str]:
    """One in-process call of the entry point, b12.adapters.cli.main, on strict UTF-8 streams (as
    a terminal's): (exit code, stdout, stderr); any exception but SystemExit escapes."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from b12.adapters.cli import main

    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="strict", write_through=True)
    code: int | str | None = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as done:
            code = done.code
    assert isinstance(code, int), f"exit with {code!r}"
    return code, out_bytes.getvalue().decode(), err_bytes.getvalue().decode()
