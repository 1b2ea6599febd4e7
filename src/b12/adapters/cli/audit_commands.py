"""`b12 audit population|synth` and `b12 export parquet`: the population audit's door.

Thin on purpose: each command reads its options, then calls one typed function of
``b12.adapters.population`` (imported inside the command, so that no other command pays for Ibis,
DuckDB, Arrow or matplotlib at start).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from b12.adapters.cli.app import open_app
from b12.adapters.cli.output import console, emit_json, write_out
from b12.errors import InputError


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


def audit_population(
    *,
    directory: str | None = None,
    db: str | None = None,
    engine: str = "duckdb",
    spark_master: str | None = None,
    as_of: str | None = None,
    report: str | None = None,
    kb: str | None = None,
    as_json: bool = False,
) -> int:
    """Run every audit rule over every administration; exit 3 when a stop-level rule found any."""
    from b12.adapters.population import audit, record
    from b12.adapters.population import report as reports

    if (directory is None) == (db is None):
        raise InputError(
            "give a folder in the audit layout, or --db URL (one of them)", field="directory"
        )
    folder = None if directory is None else Path(directory)
    written = None if report is None else Path(report)
    the_app = open_app(db, kb)
    with _progress() as bar, tempfile.TemporaryDirectory(prefix="b12-audit-") as scratch:
        task = bar.add_task("starting", total=None)

        def say(text: str) -> None:
            bar.update(task, description=text)

        if folder is None:
            say("exporting the record")
            folder = Path(scratch)
            record.export(_record_url(the_app), folder, record.regimen_phases(the_app.knowledge))
        with _files("directory", folder):
            result = audit.run(
                the_app.knowledge,
                audit.check_directory(folder),
                engine=engine,
                spark_master=spark_master,
                as_of=_as_of(as_of),
                charts=written is not None,
                progress=say,
            )
        page = None
        if written is not None:
            say("writing the report")
            with _files("report", written):
                page = reports.write(result, written)
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


def audit_synth(
    *,
    patients: int,
    out: str,
    seed: int = 0,
    errors_per_rule: int | None = None,
    kb: str | None = None,
    as_json: bool = False,
) -> int:
    """Write a synthetic population with a known set of injected errors (truth.parquet)."""
    from b12.adapters.population.synth import synthesize

    folder = Path(out)
    the_app = open_app(None, kb)
    with _files("out", folder), _progress(bar=True) as bar:
        task = bar.add_task("synthesizing patients", total=patients)
        done = synthesize(
            the_app.knowledge,
            folder,
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


def export_parquet(
    *,
    out: str,
    db: str | None = None,
    kb: str | None = None,
    as_json: bool = False,
) -> int:
    """Write the record as the audit's layout: partitioned Parquet, streamed in batches."""
    from datetime import UTC

    from b12.adapters.population.audit import write_meta
    from b12.adapters.population.record import export, regimen_phases

    folder = Path(out)
    the_app = open_app(db, kb)
    url = _record_url(the_app)
    with _files("out", folder):
        counts = export(url, folder, regimen_phases(the_app.knowledge))
        write_meta(folder, the_app.clock.now().astimezone(UTC).replace(tzinfo=None))
    if as_json:
        emit_json({"out": str(out), "rows": counts})
    else:
        rows = ", ".join(f"{name} {n:,}" for name, n in counts.items())
        console().print("Exported to {out}: {rows}.", out=str(out), rows=rows)
    return 0
