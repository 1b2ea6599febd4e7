"""A hypersensitivity or severe reaction after an injection stops the next dose until a reasoned
override, for every kind of event the record treats so; `status` and `due` show the stop."""

from __future__ import annotations

import json

import pytest

from b12.domain.reactions import HYPERSENSITIVITY_TERMS, REACTION_STOP
from tests.record.helpers import cli, open_app

PRODUCT = "cyanocobalamin-us-1000mcg-ml-10ml-vial"
LOT = ("--lot", "C1", "--expiry", "2027-06-30")
BYPASS = "prescriber reviewed the reaction: give with adrenaline at hand"

#: Every hypersensitivity term as a clinician would write it (mild: the words alone stop).
WRITTEN = {
    "anaphyla": "anaphylaxis 10 minutes after the injection",
    "hypersensitiv": "Hypersensitivity reaction",
    "allerg": "allergic reaction, itching and flushing",
    "urticaria": "generalised   Urticaria",
    "hives": "hives on both arms",
    "angioedema": "angioedema of the lips",
    "angio-oedema": "Angio-oedema",
    "angiooedema": "angiooedema",
    "quincke": "Quincke's oedema",
    "bronchospasm": "bronchospasm, treated",
    "swollen throat": "said her throat felt tight: swollen throat",
    "throat swelling": "throat swelling",
    "swollen tongue": "swollen tongue",
    "tongue swelling": "tongue swelling",
    "swollen lips": "swollen lips",
    "lip swelling": "lip swelling",
    "swollen face": "swollen face",
    "facial swelling": "facial swelling",
}
#: Every kind of event that stops: each term (mild or moderate), and any event recorded as severe.
STOPPING = [(text, "mild") for text in WRITTEN.values()] + [
    ("ANAPHYLACTIC shock", "moderate"),
    ("fainted, blood pressure 70/40", "severe"),
    ("pain at the injection site", "severe"),
]
NOT_STOPPING = [
    ("pain at the injection site", "mild"),
    ("mild transient diarrhoea", "moderate"),
    ("headache", "moderate"),
]


def test_every_hypersensitivity_term_is_written_out_here() -> None:
    assert set(WRITTEN) == set(HYPERSENSITIVITY_TERMS)


@pytest.fixture
def db(sqlite_url: str) -> str:
    """P-1 on a course from 2026-01-05, dose 1 given that day."""
    assert cli("patient", "add", "P-1", "--age-years", "60", "--sex", "female",
               "--at", "2026-01-02", "--db", sqlite_url)[0] == 0  # fmt: skip
    assert cli("prescribe", "P-1", "--indication", "pernicious-anaemia", "--start", "2026-01-05",
               "--product", PRODUCT, "--at", "2026-01-02T10:00", "--db", sqlite_url)[0] == 0  # fmt: skip
    assert cli("give", "P-1", *LOT, "--at", "2026-01-05T09:00", "--db", sqlite_url)[0] == 0
    return sqlite_url


def _event(db: str, description: str, severity: str, at: str = "2026-01-05T09:30") -> str:
    code, out, err = cli("event", "add", "P-1", "--description", description, "--severity",
                         severity, "--at", at, "--db", db, "--json")  # fmt: skip
    assert code == 0, err
    return str(json.loads(out)["event"]["id"])


def _given(db: str) -> int:
    return int(
        json.loads(cli("status", "P-1", "--at", "2026-01-06", "--db", db, "--json")[1])["given"]
    )


@pytest.mark.parametrize(("description", "severity"), STOPPING)
def test_a_reaction_stops_the_next_give_until_a_reasoned_override(
    db: str, description: str, severity: str
) -> None:
    event = _event(db, description, severity)

    code, out, _ = cli("give", "P-1", *LOT, "--at", "2026-01-06T09:00", "--db", db)
    assert code == 3
    assert out.splitlines()[0] == "STOP: not recorded. Do not give this dose; see below."
    assert "Draw" not in out and "Inject in the" not in out
    assert REACTION_STOP in out
    assert _given(db) == 1

    code, out, _ = cli("give", "P-1", *LOT, "--at", "2026-01-06T09:00", "--db", db, "--json")
    refused = json.loads(out)
    assert code == 3 and refused["recorded"] is False and refused["site"] is None
    stop = next(f for f in refused["findings"] if f["code"] == REACTION_STOP)
    assert stop["level"] == "stop" and stop["basis"]["values"]["event"] == event
    assert stop["message"] == (
        f"A reaction after an injection was recorded on 2026-01-05 ({severity}: "
        f"{description.strip()}). Do not give the next dose until a prescriber has "
        "reviewed it; a prescriber records the decision with an override reason."
    )
    assert stop["suggestion"]["action"] == {"set": "override_reason"}

    code, out, _ = cli("status", "P-1", "--at", "2026-01-06", "--db", db, "--json")
    assert code == 3 and REACTION_STOP in [f["code"] for f in json.loads(out)["findings"]]
    code, out, _ = cli("due", "--date", "2026-01-06", "--db", db, "--json")
    (due,) = json.loads(out)["due"]
    assert code == 3 and due["state"] == "stop" and due["stops"][0]["code"] == REACTION_STOP
    code, out, _ = cli("due", "--date", "2026-01-06", "--db", db)
    assert code == 3 and "STOP P-1: RECORD_REACTION_STOP" in out.splitlines()

    code, out, _ = cli("give", "P-1", *LOT, "--at", "2026-01-06T09:00", "--override", BYPASS,
                       "--who", "dr Lee", "--db", db, "--json")  # fmt: skip
    recorded = json.loads(out)["administration"]
    assert code == 3 and recorded["override_reason"] == BYPASS and recorded["given_by"] == "dr Lee"
    assert REACTION_STOP in [f["code"] for f in recorded["findings"]]
    assert _given(db) == 2
    _, out, _ = cli("audit-log", "verify", "--db", db, "--json")
    assert json.loads(out)["intact"] is True
    with open_app(db).unit_of_work() as uow:
        entries = list(uow.audit.entries())
    refusals = [e for e in entries if e.action == "give-refused"]
    assert len(refusals) == 2  # the two attempts above, each with its stop
    (bypass,) = [e for e in entries if e.action == "give" and e.payload["override_reason"]]
    assert (bypass.who, bypass.payload["override_reason"]) == ("dr Lee", BYPASS)
    # the bypass covers this event: the next dose is given as usual, and nothing shows the stop
    assert cli("give", "P-1", *LOT, "--at", "2026-01-07T09:00", "--db", db)[0] == 0
    code, out, _ = cli("status", "P-1", "--at", "2026-01-07", "--db", db, "--json")
    assert REACTION_STOP not in [f["code"] for f in json.loads(out)["findings"]]


@pytest.mark.parametrize(("description", "severity"), NOT_STOPPING)
def test_an_ordinary_effect_does_not_stop_the_next_dose(
    db: str, description: str, severity: str
) -> None:
    _event(db, description, severity)
    code, out, _ = cli("give", "P-1", *LOT, "--at", "2026-01-06T09:00", "--db", db)
    assert code == 0 and out.startswith("Draw 0.1 mL for 100 mcg IM") and REACTION_STOP not in out


def test_a_reaction_before_any_injection_is_not_one_after_an_injection(sqlite_url: str) -> None:
    cli("patient", "add", "P-2", "--age-years", "60", "--at", "2026-01-02", "--db", sqlite_url)
    cli("prescribe", "P-2", "--indication", "pernicious-anaemia", "--start", "2026-01-05",
        "--product", PRODUCT, "--at", "2026-01-02T10:00", "--db", sqlite_url)  # fmt: skip
    code, _, _ = cli("event", "add", "P-2", "--description", "severe asthma attack", "--severity",
                     "severe", "--at", "2026-01-03", "--db", sqlite_url)  # fmt: skip
    assert code == 0
    assert cli("give", "P-2", *LOT, "--at", "2026-01-05T09:00", "--db", sqlite_url)[0] == 0


def test_a_reaction_corrected_to_mild_no_longer_stops(db: str) -> None:
    event = _event(db, "pain and redness at the site", "severe")
    assert cli("give", "P-1", *LOT, "--at", "2026-01-06T09:00", "--db", db)[0] == 3
    code, _, err = cli("correct", "event", "P-1", event, "severity=mild", "--reason",
                       "severity misrecorded by the ward", "--db", db)  # fmt: skip
    assert code == 0, err
    assert cli("give", "P-1", *LOT, "--at", "2026-01-06T09:00", "--db", db)[0] == 0


def test_any_stop_prints_the_stop_first_and_no_draw_line(db: str) -> None:
    code, out, _ = cli("give", "P-1", *LOT, "--dose", "1000mcg", "--at", "2026-01-06T09:00",
                       "--db", db)  # fmt: skip
    assert code == 3 and out.splitlines()[0].startswith("STOP: not recorded.")
    assert "Draw" not in out and "RECORD_DOSE_DIFFERS" in out
