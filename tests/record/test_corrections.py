"""Corrections: a new record replaces the old one and points at it; the old one is kept."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text

from b12 import InputError
from b12.adapters.cli import read
from b12.domain.patient import Patient
from b12.knowledge import load_knowledge
from b12.services.administering import GiveRequest, give
from b12.services.corrections import correct, lab_changes
from b12.services.follow_up import patient_status
from b12.services.planning import PlanRequest
from b12.services.record import add_labs, add_patient, prescribe, verify_audit
from tests.record.helpers import open_app

PRODUCT = "cyanocobalamin-us-1000mcg-ml-10ml-vial"


def _course(url: str):  # type: ignore[no-untyped-def]
    kb = load_knowledge()
    record = open_app(url)
    work = record.unit_of_work
    add_patient(
        work, "P-7", Patient(age_months=Decimal(600)), "dr B", datetime(2026, 1, 2, 9, tzinfo=UTC)
    )
    prescribe(work, kb, "P-7", PlanRequest(date(2026, 1, 5), "pernicious-anaemia", product=PRODUCT),
              "dr B", datetime(2026, 1, 2, 10, tzinfo=UTC))  # fmt: skip
    given = give(work, kb, GiveRequest("P-7", datetime(2026, 1, 5, 9, tzinfo=UTC), lot="L1",
                                       expiry=date(2027, 1, 1)), "nurse A", record.clock)  # fmt: skip
    labs = add_labs(
        work, kb, "P-7", [read.reading(kb, "hb=9.1g/dL")], date(2026, 1, 5), "lab",
        datetime(2026, 1, 5, 12, tzinfo=UTC),
    )  # fmt: skip
    assert given.recorded is not None
    return kb, record, given.recorded, labs.results[0]


def test_a_corrected_administration_is_replaced_and_kept(db_url: str) -> None:
    _, record, first, _ = _course(db_url)
    done = correct(record.unit_of_work, "P-7", "administration", first.id,
                   {"site": "right deltoid", "lot": "L2"}, "site written on the wrong side",
                   "nurse A", datetime(2026, 1, 5, 10, tzinfo=UTC))  # fmt: skip
    assert (done.new.corrects_id, done.new.site, done.new.lot) == (first.id, "right deltoid", "L2")
    assert done.new.dose_mcg == first.dose_mcg == Decimal(100)
    status = patient_status(record.unit_of_work, "P-7", date(2026, 1, 5))
    given = [e for e in status.timeline if e.kind == "given"]
    assert [e.ref for e in given] == [done.new.id]  # the corrected one no longer counts
    assert "right deltoid" in given[0].says
    chain = verify_audit(record.unit_of_work)
    assert chain.intact
    with record.unit_of_work() as uow:  # nothing deleted: both rows are there
        c = uow.connection
        rows = c.execute(text("SELECT id FROM administrations ORDER BY given_at")).scalars().all()
        assert set(rows) == {first.id, done.new.id}
        actions = c.execute(text("SELECT action, payload FROM audit_log ORDER BY seq")).all()
    assert actions[-1][0] == "correct-administration"
    payload = actions[-1][1] if isinstance(actions[-1][1], dict) else json.loads(actions[-1][1])
    assert payload["reason"] == "site written on the wrong side"


def test_a_lab_result_is_corrected_by_a_new_reading(db_url: str) -> None:
    kb, record, _, hb = _course(db_url)
    changes = lab_changes(
        kb, record.unit_of_work, "P-7", read.reading(kb, "hb=91g/L"), date(2026, 1, 5)
    )
    done = correct(
        record.unit_of_work,
        "P-7",
        "lab",
        hb.id,
        changes,
        "unit misread",
        "lab",
        datetime(2026, 1, 6, tzinfo=UTC),
    )
    assert (done.new.value, done.new.unit, done.new.normalised_value) == (
        Decimal(91),
        "g/L",
        Decimal("9.1"),
    )


def test_a_correction_is_refused_when_it_cannot_be_right(db_url: str) -> None:
    _, record, first, _ = _course(db_url)
    with pytest.raises(
        InputError,
        match="may set dose_mcg, expiry, given_at, lot, route, site, volume_ml; not patient_id",
    ):
        correct(
            record.unit_of_work,
            "P-7",
            "administration",
            first.id,
            {"patient_id": "x"},
            "why",
            "a",
            datetime(2026, 1, 6, tzinfo=UTC),
        )
    with pytest.raises(InputError, match="the reason for the correction must say why"):
        correct(
            record.unit_of_work,
            "P-7",
            "administration",
            first.id,
            {"lot": "L9"},
            " ",
            "a",
            datetime(2026, 1, 6, tzinfo=UTC),
        )
    correct(
        record.unit_of_work,
        "P-7",
        "administration",
        first.id,
        {"lot": "L9"},
        "typo",
        "a",
        datetime(2026, 1, 6, tzinfo=UTC),
    )
    with pytest.raises(InputError, match="already corrected"):
        correct(
            record.unit_of_work,
            "P-7",
            "administration",
            first.id,
            {"lot": "L8"},
            "again",
            "a",
            datetime(2026, 1, 7, tzinfo=UTC),
        )


def test_correct_command(sqlite_url: str) -> None:
    url = sqlite_url
    _, _, first, _ = _course(url)
    done = subprocess.run(
        [sys.executable, "-m", "b12", "correct", "administration", "P-7", first.id, "dose_mcg=100",
         "volume_ml=0.1", "site=left vastus lateralis", "--reason", "site", "--db", url, "--json"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["corrects"] == first.id
    assert data["record"]["site"] == "left vastus lateralis"
    bad = subprocess.run(
        [sys.executable, "-m", "b12", "correct", "administration", "P-7", first.id, "dose_mcg=lots",
         "--reason", "x", "--db", url],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "dose_mcg='lots' cannot be read" in bad.stderr
