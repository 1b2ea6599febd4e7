"""The population audit's benchmark data: made once, cached under bench/results/ (gitignored).

A seeded synthetic population of ~1 M administrations (``base``), then the same population ten
times over with fresh ids (``10m``), written batch by batch; and a ~100 k administration sample
(the base's first patients) for the per-row Python loop.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from b12.adapters.population.audit import read_as_of, write_meta
from b12.adapters.population.layout import KEYS, TABLES
from b12.adapters.population.parquet import write_batches

ROOT = Path(__file__).resolve().parent / "results" / "population"
BASE_PATIENTS = 52_000  # ~20 administrations each: ~1 M
COPIES = 10
SAMPLE_PATIENTS = 5_200  # ~100 k administrations
ID_COLUMNS = ("patient_id", "prescription_id", "administration_id", "result_id", "reaction_id")
KEY_STRIDE = 1 << 32  # copy k's keys are the base's plus k x this (the base's are far fewer)
#: The layout's tables and columns, kept in the cache's mark: a cache of another layout is made again.
LAYOUT = "; ".join(f"{name}: {', '.join(schema.names)}" for name, schema in TABLES.items())


def read(folder: Path, name: str) -> pa.Table:
    table = ds.dataset(folder / name, format="parquet", partitioning="hive").to_table()
    return table.select(TABLES[name].names).cast(TABLES[name])


def _copies(table: pa.Table, copies: int) -> Iterator[pa.RecordBatch]:
    for k in range(copies):
        for batch in table.to_batches(max_chunksize=1 << 18):
            columns = [
                pc.binary_join_element_wise(pa.scalar(f"c{k}-"), batch.column(name), "")
                if name in ID_COLUMNS
                else pc.add(batch.column(name), pa.scalar(k * KEY_STRIDE, pa.int64()))
                if name in KEYS
                else batch.column(name)
                for name in batch.schema.names
            ]
            yield pa.RecordBatch.from_arrays(columns, schema=batch.schema)


def _sample(base: Path, out: Path) -> None:
    keep = pa.array([f"p{n:07d}" for n in range(SAMPLE_PATIENTS)])
    patients = set(keep.to_pylist())
    for name in TABLES:
        table = read(base, name)
        if "patient_id" in table.schema.names:
            table = table.filter(pc.is_in(table["patient_id"], value_set=keep))
        else:  # planned doses: by their prescription (rx + the patient's number)
            rx = pa.array([f"rx{p[1:]}" for p in patients])
            table = table.filter(pc.is_in(table["prescription_id"], value_set=rx))
        write_batches(table.to_batches(), out / name, name)
    write_meta(out, read_as_of(base) or _fail())


def _fail() -> object:
    raise RuntimeError("the base population has no audit.json")


def ensure() -> dict[str, Path]:
    """The cached folders (made on first use, and again when the layout changed): base (~1 M),
    10m (~10 M), sample (~100 k)."""
    folders = {"base": ROOT / "base", "10m": ROOT / "10m", "sample": ROOT / "sample"}
    done = ROOT / "complete"
    if done.exists() and LAYOUT in done.read_text().splitlines():
        return folders
    if ROOT.exists():
        shutil.rmtree(ROOT)
    from b12.adapters.population.synth import synthesize
    from b12.knowledge import load_knowledge

    start = time.perf_counter()
    print(f"making the audit benchmark's data in {ROOT} (once) ...", flush=True)
    made = synthesize(load_knowledge(), folders["base"], BASE_PATIENTS, seed=2026)
    for name in TABLES:
        table = read(folders["base"], name)
        write_batches(_copies(table, COPIES), folders["10m"] / name, name)
    write_meta(folders["10m"], read_as_of(folders["base"]) or _fail())  # type: ignore[arg-type]
    _sample(folders["base"], folders["sample"])
    done.write_text(f"{made.administrations} administrations in the base\n{LAYOUT}\n")
    print(f"  made in {time.perf_counter() - start:.0f} s", flush=True)
    return folders
