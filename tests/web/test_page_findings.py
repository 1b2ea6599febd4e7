"""Every page that shows findings gets them in one shape: a reading of every band of every
analyte, posted through the results page, is answered once and kept once (a page that was given
a finding's dict raised after the result was kept, so a retry recorded it twice)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from b12.adapters.web.app import findings_shown
from b12.domain.findings import Level, finding
from b12.services.record import find_patient
from tests.web.conftest import Web

PATIENT = "P-0001"


def _in_band(low: Decimal | None, high: Decimal | None) -> Decimal:
    if low is not None and high is not None:
        return (low + high) / 2
    if high is not None:
        return high / 2
    assert low is not None
    return low * 2


def _typable(analyte: Any, unit: str) -> str:
    """``unit``, or one of the same factor that can follow a number ('10*6/uL' reads as digits)."""
    if not unit[0].isdigit():
        return unit
    factor = {u.unit: u.to_canonical for u in analyte.units}
    return next(u for u, f in factor.items() if f == factor[unit] and not u[0].isdigit())


def _readings(web: Web) -> list[str]:
    """One reading inside each band the knowledge writes, in the band's own unit."""
    out: list[str] = []
    for analyte in web.app.knowledge.all("analytes").values():
        for band in analyte.bands:
            unit = _typable(analyte, band.unit or analyte.canonical_unit)
            value = _in_band(band.low, band.high).normalize()
            reading = f"{analyte.id}={value:f}{unit}"
            if reading not in out:
                out.append(reading)
    return out


def _stored(web: Web) -> list[Any]:
    with web.app.unit_of_work() as uow:
        patient = find_patient(uow, PATIENT)
        return list(uow.labs.for_patient(patient.id))


def test_a_reading_of_every_band_is_answered_once_and_kept_once(web: Web) -> None:
    readings = _readings(web)
    expected = {"b12", "haemoglobin", "potassium"}
    assert expected <= {r.split("=")[0] for r in readings}
    client, csrf = web.as_role("nurse")
    with_values = 0
    for reading in readings:
        before = len(_stored(web))
        r = client.post(
            f"/patients/{PATIENT}/labs",
            data={"csrf": csrf, "readings": reading, "taken_on": "2027-03-09"},
        )
        assert r.status_code == 200, (reading, r.text[-500:])
        assert "Results recorded" in r.text
        assert len(_stored(web)) == before + 1, reading
        with_values += "values: " in r.text
    assert with_values, "no reading raised a finding with values: the test shows nothing"


@pytest.mark.parametrize(
    "reading", ["b12=100pg/mL", "b12=1500pg/mL", "hb=13.5g/dL", "hb=9g/dL", "k=3.0mmol/L"]
)
def test_the_readings_that_crashed_the_results_page_show_their_findings(
    web: Web, reading: str
) -> None:
    client, csrf = web.as_role("nurse")
    before = len(_stored(web))
    r = client.post(
        f"/patients/{PATIENT}/labs",
        data={"csrf": csrf, "readings": reading, "taken_on": "2027-03-09"},
    )
    assert r.status_code == 200, r.text[-500:]
    assert len(_stored(web)) == before + 1


def test_findings_are_shown_from_findings_only() -> None:
    f = finding("LAB_X", Level.WARNING, "low", ["nice-ng239"], {"b12": "100 pg/mL"})
    (shown,) = findings_shown([f])
    assert shown.values == (("b12", "100 pg/mL"),) and shown.level == "warning"
    with pytest.raises(TypeError):
        findings_shown([f.to_dict()])  # type: ignore[list-item]
