"""Where the audit's expressions run: DuckDB (embedded, the default) or Spark (local or a cluster).

Both read the layout's Parquet folders; both run in UTC (Spark's session time zone is set to it,
and the JVM's default zone too), so a naive UTC timestamp means the same instant on each.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from b12.adapters.population.layout import TABLES
from b12.errors import InputError

Engine = Literal["duckdb", "spark"]
ENGINES: tuple[Engine, ...] = ("duckdb", "spark")
DEFAULT_SPARK_MASTER = "local[2]"


def connect(engine: str, spark_master: str | None = None, threads: int | None = None) -> Any:
    """An Ibis backend for ``engine``; Spark at ``spark_master`` (default $B12_SPARK_MASTER,
    else local[2])."""
    if engine == "duckdb":
        con = ibis.duckdb.connect()
        con.raw_sql(f"SET threads = {int(threads or os.cpu_count() or 1)}")
        # The findings are sorted after the run: the engine need not keep the input's order.
        con.raw_sql("SET preserve_insertion_order = false")
        return con
    if engine == "spark":
        return ibis.pyspark.connect(spark_session(spark_master))
    raise InputError(
        f"engine {engine!r} is not one b12 runs the audit on; write duckdb or spark",
        field="engine",
    )


def spark_session(master: str | None = None) -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InputError(
            "the Spark engine needs PySpark; install it with: pip install 'b12[spark]'",
            field="engine",
        ) from None
    url = master or os.environ.get("B12_SPARK_MASTER") or DEFAULT_SPARK_MASTER
    utc = "-Duser.timezone=UTC"
    return (
        SparkSession.builder.master(url)
        .appName("b12-population-audit")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", utc)
        .config("spark.executor.extraJavaOptions", utc)
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.parquet.int96RebaseModeInRead", "CORRECTED")
        .getOrCreate()
    )


def read_tables(con: Any, directory: Path) -> dict[str, ir.Table]:
    """The layout's six tables from ``directory`` (one Parquet folder each), as Ibis tables with
    exactly the layout's columns and types."""
    out = {}
    for name, schema in TABLES.items():
        folder = (directory / name).absolute()
        if not folder.is_dir():
            raise InputError(
                f"{folder} is missing: an audit folder holds {', '.join(TABLES)} "
                "(write one with `b12 export parquet` or `b12 audit synth`)",
                field="directory",
            )
        if con.name == "duckdb":
            table = con.read_parquet(
                str(folder / "**" / "*.parquet"), table_name=name, hive_partitioning=False
            )
        else:
            table = con.read_parquet(str(folder), table_name=name)
        missing = [f.name for f in schema if f.name not in table.columns]
        if missing:
            raise InputError(
                f"{folder} has no column {', '.join(missing)}: it was written by an earlier "
                "layout; write it again with `b12 export parquet` or `b12 audit synth`",
                field="directory",
            )
        out[name] = table.select(
            *(table[f.name].cast(ibis.dtype(f.type)).name(f.name) for f in schema)
        )
    return out


class Held:
    """Tables computed once and held by DuckDB for one run (temporary tables, dropped by
    ``drop``). Spark plans the expression whole, as it is given (Ibis cannot yet cache a Spark
    expression that reads the rules' parameter tables)."""

    def __init__(self, con: Any) -> None:
        self.con = con
        self.names: list[str] = []

    def __call__(self, table: ir.Table) -> ir.Table:
        if self.con.name != "duckdb":
            return table
        name = f"b12_held_{uuid.uuid4().hex}"
        self.names.append(name)
        return self.con.create_table(name, table, temp=True)

    def drop(self) -> None:
        for name in self.names:  # by name: Ibis's own release cannot drop on DuckDB 2
            self.con.raw_sql(f'DROP TABLE IF EXISTS "{name}"')
        self.names = []


def to_arrow(con: Any, expr: ir.Table) -> pa.Table:
    """The rows of ``expr`` as an Arrow table (for Spark, collected to the driver)."""
    return expr.to_pyarrow()
