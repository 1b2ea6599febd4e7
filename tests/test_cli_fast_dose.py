"""The fast `b12 dose` path reads the Typer command's options and prints exactly what it prints."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from b12.adapters.cli import fast_dose
from b12.adapters.cli.app import app, register

SERVED = [
    ["dose", "500mcg", "--concentration", "1000mcg/mL"],
    ["dose", "500mcg", "--concentration", "1000mcg/mL", "--json"],
    ["dose", "0.5 mg", "--product", "cyanocobalamin-us-1000mcg-ml-10ml-vial", "--site", "deltoid"],
    ["dose", "2000 mcg", "--product", "hydroxocobalamin-uk-1mg-ml-ampoule", "--route", "IV"],
    ["dose", "500 mg", "--product", "cyanocobalamin-500mcg-ml-ampoule"],
    ["dose", "500 mg", "--product", "cyanocobalamin-500mcg-ml-ampoule", "--json"],
    ["dose", "100 mg", "--product", "milgamma-2ml-ampoule"],
    ["dose", "1000 mcg", "--concentration=1000mcg/mL", "--indication", "pernicious anaemia"],
    ["dose", "5 mg", "--concentration", "1000mcg/mL", "--indication", "b12-deficiency-neuro"],
    ["dose", "1000 IU", "--concentration", "1000mcg/mL", "--assume-iu-is-mcg"],
    [
        "dose",
        "1000 mcg",
        "--product",
        "cyanocobalamin-us-1000mcg-ml-10ml-vial",
        "--expiry",
        "2020-01-31",
    ],
    ["dose", "6 mg", "--concentration", "1000mcg/mL", "--site", "deltoid"],
    ["dose", "--json", "1 mg", "--concentration", "1 mg/mL"],
    ["dose", "500mcg", "--concentration", "1000mcg/mL", "--age-years", "30"],
    [
        "dose",
        "500 mcg",
        "--product",
        "cyanocobalamin-us-1000mcg-ml-10ml-vial",
        "--age-months",
        "0.5",
    ],
    [
        "dose",
        "1 mg",
        "--product",
        "hydroxocobalamin-uk-1mg-ml-ampoule",
        "--age-years",
        "70",
        "--medication",
        "metformin",
        "--medication",
        "omeprazole",
        "--condition",
        "leber's disease",
    ],
    ["dose", "1 mg", "--product", "milgamma-2ml-ampoule", "--allergy", "vitamin B1", "--json"],
    ["dose", "1 mg", "--concentration", "1 mg/mL", "--sex", "F", "--pregnant", "--age-years", "31"],
    ["dose", "1 mg", "--concentration", "1 mg/mL", "--breastfeeding", "--weight-kg", "60"],
    ["dose", "1 mg", "--product", "cyanocobalamin-us-1000mcg-ml-1ml-vial", "--mix", "diazepam"],
    [
        "dose",
        "1 mg",
        "--concentration",
        "1 mg/mL",
        "--indication",
        "pernicious-anaemia",
        "--age-months",
        "2",
    ],
    [
        "dose",
        "40 mcg",
        "--concentration",
        "1 mg/mL",
        "--indication",
        "b12 deficiency",
        "--age-years",
        "6",
    ],
]
#: Served, and an error: the same message and exit code from both paths.
FAILING = [
    ["dose", "5000 iu", "--concentration", "1000mcg/mL"],
    ["dose", "500 mcg", "--product", "cyanocobalamine ampule"],
    ["dose", "500 mcg", "--concentration", "1000mcg/mL", "--expiry", "31/01/2027"],
    ["dose", "500 mcg", "--concentration", "1000mcg/mL", "--product", "milgamma-2ml-ampoule"],
    ["dose", "lots", "--concentration", "1000mcg/mL"],
    ["dose", "1 mg", "--concentration", "1 mg/mL", "--sex", "x"],
    ["dose", "1 mg", "--concentration", "1 mg/mL", "--age-years", "3", "--age-months", "4"],
    ["dose", "1 mg", "--concentration", "1 mg/mL", "--age-years", "old"],
    ["dose", "1 mL", "--product", "milgamma-2ml-ampoule"],
]
#: Not a plain order: left to the Typer command.
DECLINED = [
    [],
    ["plan", "pernicious-anaemia"],
    ["dose"],
    ["dose", "--help"],
    ["dose", "500mcg", "-h"],
    ["dose", "500mcg", "--conc", "1000mcg/mL"],  # Click does not take abbreviations
    ["dose", "500", "mcg", "--concentration", "1000mcg/mL"],
    ["dose", "500mcg", "--concentration"],
    ["dose", "500mcg", "--colour"],
]


def _typer(argv: list[str]) -> tuple[int, str, str]:
    register(argv)
    done = CliRunner().invoke(app, argv)
    return done.exit_code, done.stdout, done.stderr


def _fast(argv: list[str], capsys: Any) -> tuple[int, str, str]:
    code = fast_dose.run(argv)
    assert code is not None, argv
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("argv", SERVED + FAILING, ids=lambda a: " ".join(a[1:]))
def test_fast_path_prints_what_the_typer_command_prints(argv: list[str], capsys: Any) -> None:
    fast = _fast(argv, capsys)
    assert fast == _typer(argv)
    assert fast[0] in (0, 3) if argv in SERVED else fast[0] in (1, 2)


@pytest.mark.parametrize("argv", DECLINED, ids=lambda a: " ".join(a) or "nothing")
def test_anything_else_is_left_to_the_typer_command(argv: list[str], capsys: Any) -> None:
    assert fast_dose.run(argv) is None
    assert capsys.readouterr().out == ""


def test_the_fast_options_are_the_typer_options() -> None:
    register(["dose"])
    command = get_command(app).commands["dose"]  # type: ignore[attr-defined]
    typer_options = {
        opt: "flag" if param.is_flag else "values" if param.multiple else "value"
        for param in command.params
        for opt in param.opts
        if opt.startswith("--")
    }
    assert dict(fast_dose.OPTIONS) == typer_options
    # and hands them on by the names the Typer command's parameters have
    parsed = fast_dose.parse(["dose", "1 mg", "--concentration", "1 mg/mL"])
    assert parsed is not None and set(parsed) == {param.name for param in command.params}


@pytest.mark.parametrize(
    ("env", "option", "used"),
    [("/env/kb", None, "/env/kb"), ("", None, None), ("/env/kb", "/given/kb", "/given/kb")],
)
def test_kb_comes_from_the_settings_like_the_typer_command(
    monkeypatch: Any, env: str, option: str | None, used: str | None
) -> None:
    from b12.adapters.cli import dose_view

    seen: list[str | None] = []
    monkeypatch.setattr(dose_view, "run", lambda _load, **options: seen.append(options["kb"]) or 0)
    monkeypatch.setenv("B12_KB", env)
    argv = ["dose", "1mg", "--concentration", "1mg/mL", *(["--kb", option] if option else [])]
    assert fast_dose.run(argv) == 0 and seen == [used]


def test_the_command_line_dose_imports_neither_typer_rich_nor_pydantic() -> None:
    code = (
        "import sys\n"
        "from b12.adapters.cli.fast_dose import run\n"
        "exit_code = run(['dose', '1 mg', '--product', 'cyanocobalamin-us-1000mcg-ml-1ml-vial',"
        " '--site', 'deltoid', '--json'])\n"
        "loaded = {m.split('.')[0] for m in sys.modules} & {'pydantic', 'typer', 'rich', 'yaml', 'click'}\n"
        "print(exit_code, sorted(loaded), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "0 []"  # from the first start: there is no cache to warm


def test_the_installed_command_takes_the_fast_path() -> None:
    argv = [
        sys.executable,
        "-X",
        "importtime",
        "-m",
        "b12",
        "dose",
        "500mcg",
        "--concentration",
        "1000mcg/mL",
    ]
    done = subprocess.run(argv, capture_output=True, text=True)
    assert done.returncode == 0 and "DRAW    0.5 mL of 1,000 mcg/mL" in done.stdout
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()}
    assert "b12.adapters.cli.fast_dose" in imported
    assert not {"typer", "rich", "pydantic", "yaml", "pickle"} & imported


class _Terminal:
    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.text += text
        return len(text)


def test_plain_console_styles_a_terminal_and_nothing_else(monkeypatch: Any, capsys: Any) -> None:
    from b12.adapters.cli.output import PlainConsole

    line = "[bold]DRAW[/bold]    [bold]0.5 mL[/bold] [deltoid] [bold white on red]STOP[/bold white on red]"
    PlainConsole().print(line)
    assert capsys.readouterr().out == "DRAW    0.5 mL [deltoid] STOP\n"
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    PlainConsole().print(line)
    assert terminal.text == (
        "\x1b[1mDRAW\x1b[0m    \x1b[1m0.5 mL\x1b[0m [deltoid] \x1b[1;37;41mSTOP\x1b[0m\n"
    )
    terminal.text = ""
    monkeypatch.setenv("NO_COLOR", "1")
    PlainConsole().print(line)
    assert terminal.text == "DRAW    0.5 mL [deltoid] STOP\n"
