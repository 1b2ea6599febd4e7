"""What people read: tables plain when piped and drawn by Rich on a terminal (ids whole), the
products as the README promises them, and a patient's record in words."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from b12.adapters.cli.knowledge_commands import container, per_ml
from b12.adapters.cli.output import PlainConsole, RichScreen, Table, console, table
from b12.adapters.cli.record_commands import age_words
from tests.record.helpers import cli, run_main

LONG = "cyanocobalamin-us-1000mcg-ml-10ml-vial"


def test_a_piped_table_is_plain_and_aligned_and_never_loads_rich() -> None:
    shown = table("T", ("id", "says"), [(LONG, "a b c"), ("x", "[bold]y\x1b")])
    assert isinstance(console(), PlainConsole)  # stdout is not a terminal under pytest
    lines = shown.lines()
    assert lines[0] == "T"
    starts = {line.index("a b c") if "a b c" in line else None for line in lines[3:4]}
    assert starts == {len(LONG) + 2}
    assert lines[4] == "x" + " " * (len(LONG) + 1) + "[bold]y\\x1b"  # markup shown, ESC escaped
    assert table("Empty", ("a",), []).lines()[-1] == "(none)"


def test_on_a_terminal_rich_draws_the_table_and_keeps_an_id_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = io.StringIO()
    monkeypatch.setattr(out, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "60")
    with redirect_stdout(out):
        screen = console()
        assert isinstance(screen, RichScreen)
        screen.console.width = 60
        screen.print(table("Products", ("id", "per mL", "routes"), [(LONG, "x " * 30, "IM")]))
    drawn = out.getvalue()
    assert LONG in drawn  # on one line: never folded mid-word
    assert drawn.count("\n") > 4


def test_a_table_is_text_whatever_its_cells_hold() -> None:
    drawn = Table("[red]t", ("[b]",), (("[/]\\",),)).rich()
    assert drawn.title.plain == "[red]t" and not drawn.title.spans
    assert drawn.columns[0].header.plain == "[b]"
    assert drawn.columns[0]._cells[0].plain == "[/]\\"


@pytest.fixture(scope="module")
def products() -> list[dict[str, object]]:
    code, out, _ = run_main(["products", "--json"])
    assert code == 0
    items: list[dict[str, object]] = json.loads(out)["products"]
    return items


def test_every_product_shows_each_ingredient_per_ml_its_container_and_routes(
    products: list[dict[str, object]],
) -> None:
    code, out, _ = run_main(["products"])
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[3:]}
    for product in products:
        line = rows[str(product["id"])]
        assert per_ml(product) in line
        assert container(product) in line
        assert ", ".join(product.get("routes", ())) in line  # type: ignore[arg-type]
        for ingredient in product["ingredients"]:  # type: ignore[attr-defined]
            assert ingredient["substance"] in per_ml(product)


@pytest.mark.parametrize(
    ("product", "said"),
    [
        ({"ingredients": [{"substance": "cyanocobalamin", "amount_mcg": 1000, "per_ml": 1}]},
         "cyanocobalamin 1,000 mcg"),
        ({"ingredients": [{"substance": "thiamine", "amount_mcg": 100000, "per_ml": 2}]},
         "thiamine 50 mg"),
        ({"ingredients": [{"substance": "x", "amount_mcg": 9999, "per_ml": 1}]}, "x 9,999 mcg"),
        ({"ingredients": [{"substance": "x", "amount_mcg": 10000, "per_ml": 1}]}, "x 10 mg"),
        ({"ingredients": [{"substance": "x", "amount_mcg": 1000, "per_ml": 3}]}, "x 1,000 mcg/3 mL"),
        ({"ingredients": [{"substance": "x"}]}, "x (strength not given)"),
        ({"ingredients": []}, "-"),
    ],
)  # fmt: skip
def test_strength_per_ml_on_both_sides_of_the_mg_boundary(
    product: dict[str, object], said: str
) -> None:
    assert per_ml(product) == said


@pytest.mark.parametrize(
    ("held", "said"),
    [
        ({"kind": "ampoule", "pack_count": 10, "volume_ml": 1}, "10 x ampoule of 1 mL"),
        ({"kind": "multi-dose-vial", "pack_count": 1, "volume_ml": 30}, "multi-dose-vial of 30 mL"),
        ({"kind": "bottle", "pack_count": 1, "units": 100}, "bottle of 100 units"),
        ({"kind": "ampoule", "pack_count": 1}, "ampoule"),
    ],
)  # fmt: skip
def test_container_with_its_count_and_volume(held: dict[str, object], said: str) -> None:
    assert container({"container": held}) == said
    assert container({}) == "-"


@pytest.mark.parametrize(
    ("months", "said"),
    [
        ("0", "0 weeks"), ("0.5", "2 weeks"), ("1", "1 month"), ("11.9", "11 months"),
        ("12", "1 year"), ("13", "1 year 1 month"), ("14", "1 year 2 months"), ("24", "2 years"),
        ("750.0", "62 years 6 months"), (Decimal("1560"), "130 years"),
    ],
)  # fmt: skip
def test_ages_in_years_and_months_on_each_side_of_a_year(months: object, said: str) -> None:
    assert age_words(months) == said


def test_patient_show_is_the_record_in_words_with_the_replaced_prescription_marked(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    product = "cyanocobalamin-us-1000mcg-ml-10ml-vial"
    assert cli("db", "upgrade", "--db", url)[0] == 0
    cli("patient", "add", "P-1", "--age-years", "62.5", "--sex", "female", "--medication",
        "metformin", "--at", "2026-01-01", "--db", url, "--who", "dr A")  # fmt: skip
    for start, at in (("2026-01-05", "2026-01-02"), ("2026-02-02", "2026-01-03")):
        code, _, err = cli("prescribe", "P-1", "--indication", "pernicious-anaemia", "--start",
                           start, "--product", product, "--at", at, "--db", url)  # fmt: skip
        assert code == 0, err
    code, out, _ = cli("patient", "show", "P-1", "--db", url)
    assert code == 0
    _, data, _ = cli("patient", "show", "P-1", "--db", url, "--json")
    first, second = json.loads(data)["prescriptions"]
    lines = [line.rstrip() for line in out.splitlines()]
    # The age is today's, derived from the 62.5 years given on 2026-01-01 (never stale).
    from b12.adapters.cli.record_commands import age_words
    from b12.services.record import whole_months

    today = datetime.now(UTC).date()
    now = age_words(750 + whole_months(date(2026, 1, 1), today))
    assert lines[:8] == [
        "Patient P-1  recorded 2026-01-01 00:00 by dr A",
        f"  age          {now} (given as 62 years 6 months on 2026-01-01)",
        "  sex          female",
        "  weight       not recorded",
        "  pregnancy    not pregnant or breastfeeding",
        "  conditions   none recorded",
        "  medications  metformin",
        "  allergies    none recorded",
    ]
    assert second["replaces"] == first["id"]
    assert f"  1. REPLACED on 2026-01-03 by {second['id']}" in lines
    assert "  2. ACTIVE" in lines
    assert f"     from 2026-01-05: us-label-pernicious-anaemia, {product}, 31 doses" in lines
    assert "{" not in out and "'" not in out  # no Python dict or list printed
    assert first["id"] in out
    cli("prescribe", "P-1", "--stop", "--reason", "B12 normal on repeat testing", "--db", url)
    _, out, _ = cli("patient", "show", "P-1", "--db", url)
    assert "  3. STOP of prescription 2: B12 normal on repeat testing" in out
    assert "  2. STOPPED on " in out


#: Templates as b12's printers write them: values between words, right before and after a tag,
#: side by side.
TEMPLATES = (
    "Lot {a} of {b}.",
    "[bold]{a}[/bold] {b}",
    "[bold]{a}[/]{b}",
    "{a}{b}[bold]!",
    "{a}",
)
#: Text a user may type, heavy on what markup reads: backslashes and brackets.
TYPED = st.text(st.sampled_from("\\[]/ab @#"), max_size=8) | st.text(max_size=8)


def _rich(color_system: str | None) -> tuple[RichScreen, io.StringIO]:
    from rich.console import Console

    screen, file = RichScreen(), io.StringIO()
    screen.console = Console(
        file=file, width=10_000, emoji=False, highlight=False, color_system=color_system,
        force_terminal=color_system is not None,
    )  # fmt: skip
    return screen, file


@given(template=st.sampled_from(TEMPLATES), a=TYPED, b=TYPED)
def test_any_value_prints_as_written_plain_and_in_rich(template: str, a: str, b: str) -> None:
    """What a person typed comes out as typed (backslashes and brackets included) and never
    styles what follows: through the plain printer (a pipe) and through Rich (a terminal) alike."""
    from b12.adapters.cli.output import visible

    expected = (template.replace("[bold]", "").replace("[/bold]", "").replace("[/]", "")).format(
        a=visible(a), b=visible(b)
    )
    out = io.StringIO()
    with redirect_stdout(out):
        PlainConsole().print(template, a=a, b=b)
    assert out.getvalue() == expected + "\n"
    screen, file = _rich(None)
    screen.print(template, a=a, b=b)
    assert file.getvalue() == expected.expandtabs(8) + "\n"  # Rich sets tabs at every 8th column


@pytest.mark.parametrize("a", ["x\\", "[/bold]", "\\[/]", "[bold red]y"])
def test_on_a_terminal_only_the_templates_marks_style(a: str) -> None:
    screen, file = _rich("standard")
    screen.print("[bold]{a}[/bold] after", a=a)
    drawn = file.getvalue()
    assert drawn == f"\x1b[1m{a}\x1b[0m after\n"
