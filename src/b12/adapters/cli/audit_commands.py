"""`b12 audit population|synth` and `b12 export parquet`: the population audit's door.

Thin on purpose: each command reads its options, then calls one typed function of
``b12.adapters.population`` (imported inside the command, so that no other command pays for Ibis,
DuckDB, Arrow or matplotlib at start).
"""
# No `from __future__ import annotations` in command modules: Typer reads the annotations at run time.

import contextlib
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from b12.adapters.cli.app import JsonOption, KbOption, app, open_app
from b12.adapters.cli.output import console, emit_json, write_out
from b12.adapters.cli.record_options import DbOption, on
from b12.errors import InputError

audit_app = typer.Typer(no_args_is_help=True, help="Audit every administration of a population.")
export_app = typer.Typer(no_args_is_help=True, help="Export the record for other tools.")
app.add_typer(audit_app, name="audit")
app.add_typer(export_app, name="export")

EngineOption = Annotated[
    str, typer.Option("--engine", help="duckdb (embedded, default) or spark (needs b12[spark]).")
]
MasterOption = Annotated[
    str | None,
    typer.Option(
        "--spark-master",
        help="Spark master URL (default: $B12_SPARK_MASTER, else local[2]).",
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="End of the audit, UTC (YYYY-MM-DD or YYYY-MM-DDTHH:MM; default: the folder's own, "
        "else the day after the last dose).",
    ),
]


def _as_of(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"--as-of {text!r} is not a date; write YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)",
            field="as_of",
        ) from None
    return when.replace(tzinfo=None)


@contextlib.contextmanager
def _files(field: str, path: Path | None) -> Iterator[None]:
    """The system's refusal to read or write a folder (too long a name, no permission, a file in
    the way) is an input error that names the folder, never a traceback."""
    try:
        yield
    except OSError as exc:
        raise InputError(
            f"{field} {str(path)!r} cannot be read or written: {exc.strerror or exc}; give another folder",
            field=field,
        ) from None


def _record_url(the_app: Any) -> str:
    from b12.bootstrap import readable_record

    return readable_record(the_app.settings)


def _progress(bar: bool = False) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    # On stderr: stdout holds the summary line or the JSON, nothing else.
    shown = (BarColumn(), MofNCompleteColumn()) if bar else ()
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        *shown,
        TimeElapsedColumn(),
        transient=True,
        console=Console(stderr=True),
    )


@on(audit_app, "population")
def audit_population(
    directory: Annotated[
        Path | None, typer.Argument(help="Folder in the audit layout (from `b12 export parquet`).")
    ] = None,
    db: DbOption = None,
    engine: EngineOption = "duckdb",
    spark_master: MasterOption = None,
    as_of: AsOfOption = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the HTML report and findings here.")
    ] = None,
    kb: KbOption = None,
    as_json: JsonOption = False,
) -> int:
    """Run every audit rule over every administration; exit 3 when a stop-level rule found any."""
    from b12.adapters.population import audit, record
    from b12.adapters.population import report as reports

    if (directory is None) == (db is None):
        raise InputError(
            "give a folder in the audit layout, or --db URL (one of them)", field="directory"
        )
    the_app = open_app(db, kb)
    with _progress() as bar, tempfile.TemporaryDirectory(prefix="b12-audit-") as scratch:
        task = bar.add_task("starting", total=None)

        def say(text: str) -> None:
            bar.update(task, description=text)

        if directory is None:
            say("exporting the record")
            directory = Path(scratch)
            record.export(_record_url(the_app), directory)
        with _files("directory", directory):
            result = audit.run(
                the_app.knowledge,
                audit.check_directory(directory),
                engine=engine,
                spark_master=spark_master,
                as_of=_as_of(as_of),
                charts=report is not None,
                progress=say,
            )
        page = None
        if report is not None:
            say("writing the report")
            with _files("report", report):
                page = reports.write(result, report)
    summary = reports.summary_line(result)
    if as_json:
        emit_json(
            {
                "summary": summary,
                "engine": result.engine,
                "as_of": result.as_of.isoformat(),
                "administrations": result.administrations,
                "findings": result.findings.num_rows,
                "by_rule": result.counts,
                "seconds": round(result.seconds, 3),
                "score": result.score,
                "report": None if page is None else str(page),
                "knowledge": result.thresholds.fingerprint,
            }
        )
    else:
        write_out(summary + "\n")
        if page is not None:
            console().print("Report: {page}", page=str(page))
    return 3 if result.stops else 0


@on(audit_app, "synth")
def audit_synth(
    patients: Annotated[int, typer.Option("--patients", min=1, help="How many patients.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write (its tables are replaced).")],
    seed: Annotated[int, typer.Option("--seed", help="Seed: the same seed, the same data.")] = 0,
    errors_per_rule: Annotated[
        int | None,
        typer.Option("--errors-per-rule", min=1, help="Injected errors of each rule's kind."),
    ] = None,
    kb: KbOption = None,
    as_json: JsonOption = False,
) -> int:
    """Write a synthetic population with a known set of injected errors (truth.parquet)."""
    from b12.adapters.population.synth import synthesize

    the_app = open_app(None, kb)
    with _files("out", out), _progress(bar=True) as bar:
        task = bar.add_task("synthesizing patients", total=patients)
        done = synthesize(
            the_app.knowledge,
            out,
            patients,
            seed,
            errors_per_rule,
            progress=lambda n: bar.advance(task, n),
        )
    if as_json:
        emit_json(
            {
                "out": str(out),
                "patients": done.patients,
                "administrations": done.administrations,
                "injected": done.injected,
            }
        )
    else:
        console().print(
            "{patients} patients, {administrations} administrations, {errors} injected errors "
            "({rules} rules) in {out}.",
            patients=f"{done.patients:,}",
            administrations=f"{done.administrations:,}",
            errors=sum(done.injected.values()),
            rules=len(done.injected),
            out=str(out),
        )
    return 0


@on(export_app, "parquet")
def export_parquet(
    out: Annotated[Path, typer.Argument(help="Folder to write the layout's tables in.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> int:
    """Write the record as the audit's layout: partitioned Parquet, streamed in batches."""
    from datetime import UTC

    from b12.adapters.population.audit import write_meta
    from b12.adapters.population.record import export

    the_app = open_app(db, None)
    url = _record_url(the_app)
    with _files("out", out):
        counts = export(url, out)
        write_meta(out, the_app.clock.now().astimezone(UTC).replace(tzinfo=None))
    if as_json:
        emit_json({"out": str(out), "rows": counts})
    else:
        rows = ", ".join(f"{name} {n:,}" for name, n in counts.items())
        console().print("Exported to {out}: {rows}.", out=str(out), rows=rows)
    return 0
