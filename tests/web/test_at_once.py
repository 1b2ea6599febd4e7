"""Many staff pressing "Give" for the same dose at once, on SQLite and PostgreSQL: it is recorded
exactly once; every other press is refused, saying who recorded it."""

from __future__ import annotations

import threading
from typing import Any

from b12.services.record import find_patient
from tests.web.conftest import Web

PRESSES = 8
SCAN = "(01)09501101530003(17)271231(10)LOT42"


def _given(web: Web, code: str) -> int:
    with web.app.unit_of_work() as uow:
        return len(uow.administrations.for_patient(find_patient(uow, code).id))


def test_one_dose_pressed_many_times_at_once_is_recorded_once(any_web: Web) -> None:
    web = any_web
    before = _given(web, "P-0001")
    clients = [web.login("nurse.bo" if i % 2 else "dr.ames") for i in range(PRESSES)]
    answers: list[Any] = [None] * PRESSES
    start = threading.Barrier(PRESSES)

    def press(i: int) -> None:
        client, csrf = clients[i]
        start.wait()
        answers[i] = client.post(
            "/api/v1/patients/P-0001/give", json={"scan": SCAN}, headers={"X-CSRF-Token": csrf}
        )

    threads = [threading.Thread(target=press, args=(i,)) for i in range(PRESSES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert _given(web, "P-0001") == before + 1
    recorded = [r for r in answers if r.status_code == 200 and r.json()["recorded"]]
    assert len(recorded) == 1
    by = recorded[0].json()["administration"]["given_by"]
    for r in answers:
        if r is recorded[0]:
            continue
        if r.status_code == 409:  # the unique key answered: AlreadyRecordedError's message
            assert f"already recorded by {by}" in r.json()["error"]["message"]
        else:
            assert r.status_code == 200 and r.json()["recorded"] is False
            said = [
                f["message"]
                for f in r.json()["findings"]
                if f["code"] == "RECORD_ALREADY_GIVEN_TODAY"
            ]
            assert said and f"recorded by {by}" in said[0]


def test_the_give_flow_and_the_audit_on_each_database(any_web: Web) -> None:
    client, csrf = any_web.as_role("nurse")
    h = {"X-CSRF-Token": csrf}
    assert client.get("/mar").status_code == 200
    assert client.get("/patients/P-0002").status_code == 200
    done = client.post("/api/v1/patients/P-0002/give", json={"scan": SCAN}, headers=h).json()
    assert done["recorded"] is True and done["administration"]["lot"] == "LOT42"
    with any_web.app.unit_of_work() as uow:
        tail = [(e.who, e.action) for e in list(uow.audit.entries())[-3:]]
    assert tail == [("nurse.bo", "read-mar"), ("nurse.bo", "read-patient"), ("nurse.bo", "give")]
