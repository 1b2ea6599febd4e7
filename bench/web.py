"""The web MAR page and the give API on SQLite: requests/s and p99 at a fixed rate, beside a bare
FastAPI endpoint served the same way in the same run.

Each server is a uvicorn process of its own on 127.0.0.1 (one worker); the load generator sends
requests at a fixed rate (open loop: a request starts on its schedule, whether or not the ones
before have answered) for DURATION seconds, then reports the rate achieved, the median and the p99
latency, and the errors. The MAR is the nurse's page (a session check, an audited read of everyone
due). The give API records the dose due of each demo patient once; the later calls of the run are
refused with RECORD_ALREADY_GIVEN_TODAY (the whole five-rights check and an audited refusal).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.run import ROOT

#: Offered below what the b12 server sustains here (~10-25 MAR pages/s on the shared 2-core
#: machine), so that the latency measured is the request's, not a queue's; the closed-loop run
#: after it (WORKERS clients, each sending its next request when the last one answers) gives the
#: most each server answers.
RATE = int(os.environ.get("B12_BENCH_WEB_RATE", "8"))  # requests per second offered
DURATION = float(os.environ.get("B12_BENCH_WEB_SECONDS", "15"))
WORKERS = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(mode: str, database: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.web_server", mode, str(port), database], cwd=ROOT, env=env
    )
    base = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/openapi.json" if mode != "bare" else base + "/bare", timeout=1)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the {mode} server did not start")


async def _fixed_rate(client: object, requests: list[tuple[str, str, dict | None]]) -> dict:
    import httpx

    assert isinstance(client, httpx.AsyncClient)
    total = int(RATE * DURATION)
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()

    async def one(i: int) -> None:
        nonlocal errors
        method, url, body = requests[i % len(requests)]
        await asyncio.sleep(max(0.0, start + i / RATE - time.perf_counter()))
        sent = time.perf_counter()
        try:
            r = await client.request(method, url, json=body)
            if r.status_code >= 500:
                errors += 1
        except httpx.HTTPError:
            errors += 1
        latencies.append(time.perf_counter() - sent)

    await asyncio.gather(*(one(i) for i in range(total)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "sent": total,
        "rps": total / elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "errors": errors,
    }


async def _closed_loop(client: object, requests: list[tuple[str, str, dict | None]]) -> dict:
    import httpx

    assert isinstance(client, httpx.AsyncClient)
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    stop = start + DURATION / 2

    async def worker(offset: int) -> None:
        nonlocal errors
        i = offset
        while time.perf_counter() < stop:
            method, url, body = requests[i % len(requests)]
            sent = time.perf_counter()
            r = await client.request(method, url, json=body)
            errors += r.status_code >= 500
            latencies.append(time.perf_counter() - sent)
            i += WORKERS

    await asyncio.gather(*(worker(n) for n in range(WORKERS)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "sent": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "errors": errors,
    }


def _print(name: str, r: dict, how: str) -> None:
    print(
        f"{name:<40} {how:<16} {r['rps']:7.1f} req/s  p50 {r['p50'] * 1e3:7.2f} ms  "
        f"p99 {r['p99'] * 1e3:7.2f} ms  errors {r['errors']}/{r['sent']}"
    )


async def _run(b12_base: str, bare_base: str) -> None:
    import httpx

    from b12.adapters.web import demo

    fixed, most = f"at {RATE}/s", f"{WORKERS} clients"
    async with httpx.AsyncClient(base_url=bare_base, timeout=60) as client:
        bare = [await _fixed_rate(client, [("GET", "/bare", None)]),
                await _closed_loop(client, [("GET", "/bare", None)])]  # fmt: skip
    async with httpx.AsyncClient(base_url=b12_base, timeout=60) as client:
        r = await client.post(
            "/api/v1/session", json={"username": "nurse.bo", "password": demo.PASSWORD}
        )
        client.headers["X-CSRF-Token"] = r.json()["csrf"]
        page = [("GET", "/mar", None)]
        mar = [await _fixed_rate(client, page), await _closed_loop(client, page)]
        gives = [("POST", f"/api/v1/patients/{p.code}/give", {"lot": "B1", "expiry": "2099-12-31"})
                 for p in demo.PATIENTS]  # fmt: skip
        give = [await _fixed_rate(client, gives), await _closed_loop(client, gives)]
    for name, figures in (("web: bare FastAPI endpoint (baseline)", bare),
                          ("web: MAR page (nurse, SQLite)", mar), ("web: give API (SQLite)", give)):  # fmt: skip
        _print(name, figures[0], fixed)
        _print(name, figures[1], most)
    print(
        f"{'web: against the bare endpoint':<40} {fixed:<16} p99 MAR x{mar[0]['p99'] / bare[0]['p99']:.1f}, "
        f"give x{give[0]['p99'] / bare[0]['p99']:.1f}; most req/s MAR "
        f"{mar[1]['rps'] / bare[1]['rps']:.3f}x, give {give[1]['rps'] / bare[1]['rps']:.3f}x"
    )


def web_mar_and_give() -> bool:
    try:
        import httpx  # noqa: F401

        from b12.adapters.web import demo
    except ImportError:
        print("web: skipped (pip install 'b12[web]' httpx)")
        return True
    from b12.bootstrap import Settings, build, upgrade

    folder = Path(tempfile.mkdtemp(prefix="b12-bench-web-"))
    database = str(folder / "clinic.db")
    upgrade(Settings.read(database_url=database))
    app = build(Settings.read(database_url=database))
    demo.seed(app)
    app.close()
    servers = []
    try:
        b12_proc, b12_base = _start("b12", database)
        servers.append(b12_proc)
        bare_proc, bare_base = _start("bare", database)
        servers.append(bare_proc)
        asyncio.run(_run(b12_base, bare_base))
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
    return True


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    web_mar_and_give()
