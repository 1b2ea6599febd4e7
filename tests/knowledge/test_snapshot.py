"""The plain copy of the knowledge gives exactly the results of the validated knowledge."""

from __future__ import annotations

import itertools
import os
import pickle
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from b12.adapters.cli import read
from b12.domain.patient import Patient
from b12.errors import B12Error
from b12.knowledge import cache, load_knowledge, snapshot
from b12.knowledge.base import Knowledge
from b12.knowledge.snapshot import KIND, Plain, freeze, load_plain, plain
from b12.services.dosing import calculate_dose

GOLDEN = Path(__file__).parent.parent / "golden" / "dose_cases.yaml"
SCREENING = Path(__file__).parent.parent / "golden" / "screening_cases.yaml"
ORDINARY = Path(__file__).parent.parent / "golden" / "ordinary_profiles.yaml"


@pytest.fixture(scope="module")
def both() -> tuple[Knowledge, Knowledge]:
    validated = load_knowledge()
    return validated, freeze(validated)


def _result(kb: Knowledge, order: dict[str, Any]) -> Any:
    """The order (as typed) read and checked against ``kb``, or the error it raised."""
    try:
        return calculate_dose(kb, read.dose_request(kb, **order)).to_dict()
    except B12Error as exc:
        return type(exc).__name__, str(exc)


def _requests() -> list[dict[str, Any]]:
    golden = yaml.safe_load(GOLDEN.read_text())["cases"]
    keys = ("product", "concentration", "assume_iu_is_mcg")
    requests = [
        dict(dose_text=c["dose"], **{k: c[k] for k in keys if k in c}, today=date(2026, 11, 22))
        for c in golden
    ]
    products = list(load_knowledge().products)
    doses = ["50 mcg", "500mcg", "1 mg", "2000 mcg", "500 mg", "1000 IU", "3 mL"]
    routes = [None, "IM", "SC", "IV", "oral"]
    sites = [None, "deltoid", "vastus lateralis", "dorsogluteal"]
    for product, dose, route, site in itertools.product(products, doses, routes, sites):
        requests.append(
            dict(dose_text=dose, product=product, route=route, site=site, today=date(2026, 11, 22))
        )
    for dose, indication in itertools.product(
        ["100 mcg", "1000 mcg", "5 mg"], ["pernicious-anaemia", "b12-deficiency-neuro", "nope"]
    ):
        requests.append(dict(dose_text=dose, concentration="1000 mcg/mL", indication=indication))
    requests.append(
        dict(
            dose_text="1000 mcg",
            product="cyanocobalamin-us-1000mcg-ml-10ml-vial",
            expiry=date(2026, 1, 1),
            today=date(2026, 11, 22),
        )
    )
    return requests


def test_every_dose_result_is_identical_from_the_plain_copy(
    both: tuple[Knowledge, Knowledge],
) -> None:
    validated, copied = both
    requests = _requests()
    assert len(requests) > 3000
    for request in requests:
        assert _result(copied, request) == _result(validated, request), request


def _screened_requests() -> list[dict[str, Any]]:
    """Every screening golden profile (each rule firing and not) and every ordinary profile."""
    profiles = [c["profile"] for c in yaml.safe_load(SCREENING.read_text())["cases"]]
    profiles += yaml.safe_load(ORDINARY.read_text())["profiles"]
    requests = []
    for profile in profiles:
        years, months = profile.get("age_years"), profile.get("age_months")
        patient = Patient.of_age(
            None if years is None else Decimal(str(years)),
            None if months is None else Decimal(str(months)),
            sex=profile.get("sex"),
            pregnant=profile.get("pregnant", False),
            breastfeeding=profile.get("breastfeeding", False),
            conditions=tuple(profile.get("conditions", ())),
            medications=tuple(profile.get("medications", ())),
            allergies=tuple(profile.get("allergies", ())),
        )
        for dose in ("1000 mcg", "5 mg"):
            requests.append(
                dict(
                    dose_text=dose,
                    product=profile.get("product", "hydroxocobalamin-uk-1mg-ml-ampoule"),
                    route=profile.get("route"),
                    mix=tuple(profile.get("mix", ())),
                    patient=patient,
                    today=date(2026, 11, 22),
                )
            )
    return requests


def test_screened_doses_are_identical_too(both: tuple[Knowledge, Knowledge]) -> None:
    validated, copied = both
    requests = _screened_requests()
    assert len(requests) > 300
    screened = 0
    for request in requests:
        result = _result(validated, request)
        assert _result(copied, request) == result, request
        screened += isinstance(result, dict) and any(
            f["code"] not in ("SITE_SUGGESTION",) for f in result["findings"]
        )
    assert screened > 100  # the profiles really raise findings


def test_plain_entries_keep_values_properties_and_text(both: tuple[Knowledge, Knowledge]) -> None:
    validated, copied = both
    source = copied.sources["seed-002"]
    assert isinstance(source, Plain) and source.trust == validated.sources["seed-002"].trust
    product = copied.products["milgamma-2ml-ampoule"]
    original = validated.products["milgamma-2ml-ampoule"]
    assert [i.mcg_per_ml for i in product.ingredients] == [
        i.mcg_per_ml for i in original.ingredients
    ]
    with pytest.raises(AttributeError, match="frozen"):
        product.name = "something else"  # type: ignore[misc]
    ranges = [
        (plain(r), r)
        for r in (p.dose_mcg for reg in validated.regimens.values() for p in reg.phases)
        if r is not None
    ]
    assert ranges and all(str(a) == str(b) and a.is_single == b.is_single for a, b in ranges)
    assert pickle.loads(pickle.dumps(product)) == product


def test_load_plain_writes_then_reads_its_cache(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("B12_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(snapshot, "_LOADED", {})  # as in a fresh process
    validated = load_knowledge()
    first = load_plain()
    assert list(tmp_path.glob(f"{KIND}-*.pickle"))
    assert first.fingerprint == validated.fingerprint
    assert first.products.keys() == validated.products.keys()
    # A cache that cannot be read is rebuilt, never an error.
    for stale in tmp_path.glob(f"{KIND}-*.pickle"):
        stale.write_bytes(b"not a pickle")
    assert cache.read(validated.content_hash, KIND) is None


def test_the_plain_start_imports_no_validation_or_cli_library(tmp_path: Path) -> None:
    env = {**os.environ, "B12_CACHE_DIR": str(tmp_path)}
    code = (
        "import sys\n"
        "from b12.knowledge.snapshot import load_plain\n"
        "from b12.adapters.cli.read import dose_request\n"
        "from b12.services.dosing import calculate_dose\n"
        "kb = load_plain()\n"
        "calculate_dose(kb, dose_request(kb, '1 mg', product='cyanocobalamin-us-1000mcg-ml-1ml-vial',"
        " site='deltoid', indication='pernicious-anaemia'))\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', 'typer', 'rich', 'yaml'}))\n"
    )
    warm = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert warm.returncode == 0, warm.stderr
    again = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "[]"
