"""Writing the layout's tables as Parquet folders: by month where a table grows with time.

``write_batches`` streams: it takes record batches one at a time and hands them to the dataset
writer, so a table of any size is written in constant memory.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as fs

from b12.adapters.population.layout import PARTITION_TIME, TABLES

#: Always the local disk, and absolute paths: Arrow reads a bare "name:rest" as a URI.
LOCAL = fs.LocalFileSystem()
PARTITION = "month"
ROW_GROUP = 1 << 17  # rows: a month's rows are held until this many (memory: months x this)


def _with_month(batch: pa.RecordBatch, column: str) -> pa.RecordBatch:
    times = batch.column(column)
    month = pc.strftime(times, format="%Y-%m")
    month = pc.if_else(pc.is_null(times), pa.scalar("unknown"), month)
    return pa.RecordBatch.from_arrays(
        [*batch.columns, month], names=[*batch.schema.names, PARTITION]
    )


def write_batches(batches: Iterable[pa.RecordBatch], folder: Path, name: str) -> int:
    """Write the batches of table ``name`` to ``folder`` (replaced); returns the rows written."""
    schema = TABLES[name]
    folder = folder.absolute()  # "a:b" is a URI to Arrow; "/here/a:b" is a path
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    count = 0
    column = PARTITION_TIME.get(name)

    def counted() -> Iterator[pa.RecordBatch]:
        nonlocal count
        for batch in batches:
            count += batch.num_rows
            yield batch if column is None else _with_month(batch, column)

    if column is None:
        import pyarrow.parquet as pq

        with pq.ParquetWriter(str(folder / "part-0.parquet"), schema, filesystem=LOCAL) as writer:
            for batch in counted():
                writer.write_batch(batch)
        return count
    full = schema.append(pa.field(PARTITION, pa.string()))
    ds.write_dataset(
        counted(),
        str(folder),
        filesystem=LOCAL,
        schema=full,
        format="parquet",
        partitioning=ds.partitioning(pa.schema([(PARTITION, pa.string())]), flavor="hive"),
        existing_data_behavior="overwrite_or_ignore",
        basename_template="part-{i}.parquet",
        # Batches split across months make small row groups unless the writer gathers them; a
        # reader pays per row group (1,000-row groups made DuckDB several times slower).
        min_rows_per_group=ROW_GROUP,
        max_rows_per_group=ROW_GROUP * 4,
    )
    if count == 0:  # an empty table still needs a file that says its columns
        import pyarrow.parquet as pq

        pq.write_table(schema.empty_table(), str(folder / "part-0.parquet"), filesystem=LOCAL)
    return count


def write_table(table: pa.Table, folder: Path, name: str) -> int:
    return write_batches(table.cast(TABLES[name]).to_batches(max_chunksize=1 << 18), folder, name)
