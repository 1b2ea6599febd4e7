"""`b12 status --plot`: the picture read back from its SVG (bands, markers, dates with the year,
the time axis on the course) and written as PNG."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.record.helpers import cli

PRODUCT = "cyanocobalamin-us-1000mcg-ml-10ml-vial"
GIVEN = ["2026-01-05", "2026-01-06", "2026-01-07", "2026-01-09"]


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A course: four doses given, one missed, an adverse event, results before and during it,
    one B12 level in pmol/L and one in pg/mL, and a haemoglobin dated years before the course."""
    url = f"sqlite:///{tmp_path_factory.mktemp('plot') / 'record.db'}"
    calls = [
        ["db", "upgrade"],
        ["patient", "add", "P-1", "--age-years", "60", "--sex", "female", "--at", "2025-12-20"],
        ["prescribe", "P-1", "--indication", "pernicious-anaemia", "--start", "2026-01-05",
         "--product", PRODUCT, "--at", "2026-01-02"],
        ["lab", "add", "P-1", "hb=8.9g/dL", "b12=110pg/mL", "mcv=112fL", "--at", "2026-01-02"],
        *[["give", "P-1", "--lot", "L1", "--at", f"{day}T09:00"] for day in GIVEN[:3]],
        ["missed", "P-1", "--reason", "in hospital", "--at", "2026-01-08"],
        ["give", "P-1", "--lot", "L1", "--at", "2026-01-09T09:00"],
        ["event", "add", "P-1", "--description", "sore arm", "--at", "2026-01-06"],
        ["lab", "add", "P-1", "hb=10.4g/dL", "reticulocytes=4.6%", "b12=400pmol/L",
         "--at", "2026-01-12"],
        ["lab", "add", "P-1", "hb=11.1g/dL", "--at", "2019-03-01"],
    ]  # fmt: skip
    for argv in calls:
        code, _, err = cli(*argv, "--db", url, *(["--who", "t"] if argv[0] != "db" else []))
        assert code in (0, 3), (argv, err)
    return url


def _svg(record: str, tmp_path: Path) -> str:
    path = tmp_path / "trends.svg"
    code, out, err = cli("status", "P-1", "--at", "2026-01-14", "--plot", str(path), "--db", record)
    assert code in (0, 3), err
    assert f"Plot written to {path.resolve()}" in " ".join(out.split())
    return path.read_text()


def _group(svg: str, gid: str) -> str:
    """The SVG group matplotlib writes for the artist with this gid."""
    match = re.search(rf'<g id="{re.escape(gid)}">(.*?)</g>\s*(?=<g id=|</g>)', svg, re.S)
    assert match, gid
    return match.group(1)


def test_each_test_has_its_reference_band_and_b12_the_guideline_bands(
    record: str, tmp_path: Path
) -> None:
    svg = _svg(record, tmp_path)
    for analyte in ("haemoglobin", "mcv"):
        assert f'id="band-{analyte}"' in svg
        assert f'id="results-{analyte}"' in svg
    assert 'id="band-reticulocytes"' in svg
    for band in ("deficient", "indeterminate", "sufficient"):
        assert f'id="band-b12-{band}"' in svg  # NICE NG239's bands, named on the panel
        assert f">{band}</text>" in svg
    assert "range: default range 12.1-15.1 g/dL (female, medlineplus-hemoglobin)" in svg


def test_injections_missed_doses_and_events_are_marked(record: str, tmp_path: Path) -> None:
    svg = _svg(record, tmp_path)
    assert _group(svg, "doses-given").count("<use ") == len(GIVEN)
    assert _group(svg, "doses-missed").count("<use ") == 1
    assert _group(svg, "adverse-events").count("<use ") == 1
    assert ">100 mcg</text>" in svg  # the dose, written where it starts
    assert ">missed</text>" in svg
    assert ">sore arm (mild)</text>" in svg


def test_dates_carry_the_year_and_the_axis_keeps_to_the_course(record: str, tmp_path: Path) -> None:
    svg = _svg(record, tmp_path)
    ticks = re.findall(r">(\d\d [A-Z][a-z]{2} \d{4})</text>", svg)
    assert len(ticks) >= 4
    assert all(t.endswith(("2025", "2026")) for t in ticks), ticks
    assert "2019" not in " ".join(ticks)  # the distant result does not stretch the axis
    assert "Not plotted, outside the course: 2019-03-01 haemoglobin 11.1 g/dL." in svg


def test_a_status_before_the_course_starts_is_drawn_from_its_start(
    record: str, tmp_path: Path
) -> None:
    path = tmp_path / "before.svg"
    code, _, err = cli("status", "P-1", "--at", "2025-12-21", "--plot", str(path), "--db", record)
    assert code in (0, 3), err
    ticks = re.findall(r">(\d\d [A-Z][a-z]{2} \d{4})</text>", path.read_text())
    assert ticks and all(t.endswith(("2025", "2026")) for t in ticks)


def test_a_png_is_written_too(record: str, tmp_path: Path) -> None:
    path = tmp_path / "trends.png"
    code, _, err = cli("status", "P-1", "--at", "2026-01-14", "--plot", str(path), "--db", record)
    assert code in (0, 3), err
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
