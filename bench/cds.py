"""CDS Hooks order-sign over HTTP at a steady rate, beside a trivial endpoint on the same server.

The server is one uvicorn process on 127.0.0.1 (the b12 web app on an SQLite record, with the
CDS Hooks service and, for the baseline, a bare ``GET /bench/bare`` added to the same app). The
load generator is this process: open loop (each request starts on its schedule, whether or not
the ones before have answered) at RATE requests/s for DURATION seconds, first to the bare
endpoint, then to order-sign. Every order-sign call carries a token of its own (ES256, a new
jti: a replay would be refused), signed before the run so that signing is not timed; one order
in ten is a mg/mcg slip (a critical card kept in the record), the others are quiet. Budget
(quality.md): p99 < 50 ms and no error, at 200/s for at least 30 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.run import ROOT

RATE = int(os.environ.get("B12_BENCH_CDS_RATE", "200"))
DURATION = float(os.environ.get("B12_BENCH_CDS_SECONDS", "30"))
BUDGET_P99 = 0.050
#: uvicorn worker processes (one per core of the 2-core machine the budget is set for)
WORKERS = int(os.environ.get("B12_BENCH_CDS_WORKERS", "2"))
ISSUER = "https://ehr.bench.invalid"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app_from_environment() -> Any:
    """The server's app: b12's web app (settings from the environment: the record, the issuers
    file, the audit key) with a bare endpoint beside the CDS Hooks service."""
    from b12.adapters.passwords import argon2id
    from b12.adapters.web.app import create_app
    from b12.bootstrap import Settings, build

    web = create_app(build(Settings.read(), passwords=argon2id()))

    @web.get("/bench/bare")
    def bare() -> dict[str, bool]:
        return {"ok": True}

    return web


def serve(port: int) -> None:
    """The server process: uvicorn on 127.0.0.1 with WORKERS worker processes."""
    import uvicorn

    from b12.adapters.web.server import NoDelayH11Protocol

    # as `b12 serve --workers 2` serves: each connection with Nagle's algorithm off (server.py)
    uvicorn.run(
        "bench.cds:app_from_environment",
        http=NoDelayH11Protocol,
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=WORKERS,
        log_level="error",
        access_log=False,
        timeout_keep_alive=60,
    )


def _order(slip: bool, n: int) -> dict[str, Any]:
    """An order-sign request: cyanocobalamin 1000 mcg/mL (NDC) IM for B12 deficiency, the dose
    in mcg, or in mg (a slip), with the prefetch the service asks for."""
    dose = {
        "value": 1000,
        "unit": "mg" if slip else "ug",
        "system": "http://unitsofmeasure.org",
        "code": "mg" if slip else "ug",
    }
    order = {
        "resourceType": "MedicationRequest",
        "id": str(n),
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "0143-9621-25"}]
        },
        "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "D51.9"}]}],
        "dosageInstruction": [
            {
                "route": {"text": "intramuscular"},
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "mo"}},
                "doseAndRate": [{"doseQuantity": dose}],
            }
        ],
    }

    def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
        return {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}

    return {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": f"p{n}", "draftOrders": bundle(order)},
        "prefetch": {
            "patient": {"resourceType": "Patient", "birthDate": "1960-05-01", "gender": "female"},
            "conditions": bundle(
                {"resourceType": "Condition", "code": {"text": "pernicious anaemia"}}
            ),
            "medications": bundle(),
            "allergies": bundle(),
        },
    }


def _tokens(key: Any, url: str, count: int) -> list[str]:
    import jwt

    now = int(time.time())
    return [
        jwt.encode(
            {"iss": ISSUER, "aud": url, "iat": now, "exp": now + 240, "jti": str(uuid.uuid4())},
            key,
            algorithm="ES256",
            headers={"kid": "bench", "typ": "JWT"},
        )
        for _ in range(count)
    ]


class RawClient:
    """HTTP/1.1 with keep-alive over asyncio streams: a load generator light enough to leave the
    machine's cores to the server (an httpx client costs about a millisecond of CPU a request)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> int:
        conn = (
            self._idle.pop() if self._idle else await asyncio.open_connection(self.host, self.port)
        )
        reader, writer = conn
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await reader.readexactly(length)
        self._idle.append(conn)
        return status

    def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


async def _fixed_rate(
    client: RawClient, calls: list[tuple[str, str, bytes, dict[str, str]]]
) -> dict[str, Any]:
    total = len(calls)
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()

    async def one(i: int) -> None:
        nonlocal errors
        method, url, body, headers = calls[i]
        await asyncio.sleep(max(0.0, start + i / RATE - time.perf_counter()))
        sent = time.perf_counter()
        try:
            status = await client.request(method, url, body, headers)
            if status != 200:
                errors += 1
                if errors == 1:
                    print(f"cds: first error: HTTP {status}")
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as error:
            errors += 1
            if errors == 1:
                print(f"cds: first error: {error!r}")
        latencies.append(time.perf_counter() - sent)

    await asyncio.gather(*(one(i) for i in range(total)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "sent": total,
        "rps": total / elapsed,
        "seconds": elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "errors": errors,
    }


def _print(name: str, r: dict[str, Any]) -> None:
    print(
        f"{name:<48} {r['rps']:6.1f} req/s for {r['seconds']:4.1f} s  p50 {r['p50'] * 1e3:6.2f} ms  "
        f"p99 {r['p99'] * 1e3:6.2f} ms  errors {r['errors']}/{r['sent']}  "
        f"server CPU {r['cpu_ms']:.2f} ms/request"
    )


def _cpu(pid: int) -> float:
    """CPU seconds so far (user + system) of the server and its worker processes, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(_cpu(int(child)) for child in children)


async def _timed(
    client: RawClient, pid: int, calls: list[tuple[str, str, bytes, dict[str, str]]]
) -> dict[str, Any]:
    client.close()  # a fresh pool: no connection the server closed while idle
    cpu = _cpu(pid)
    figures = await _fixed_rate(client, calls)
    figures["cpu_ms"] = (_cpu(pid) - cpu) / len(calls) * 1e3
    return figures


async def _run(port: int, pid: int, key: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    total = int(RATE * DURATION)
    client = RawClient("127.0.0.1", port)
    try:
        bare = await _timed(client, pid, [("GET", "/bench/bare", b"", {})] * total)
        path = "/cds-services/order-sign"
        bodies = [json.dumps(_order(i % 10 == 0, i)).encode() for i in range(50)]
        tokens = _tokens(key, f"http://127.0.0.1:{port}{path}", total + 50)
        headers = [
            {"Authorization": f"Bearer {t}", "Content-Type": "application/json"} for t in tokens
        ]
        for i in range(50):  # warm the server's caches (knowledge, keys) once, as a running one has
            await client.request("POST", path, bodies[i], headers[total + i])
        calls = [("POST", path, bodies[i % 50], headers[i]) for i in range(total)]
        sign = await _timed(client, pid, calls)
    finally:
        client.close()
    return bare, sign


def cds_order_sign() -> bool:
    try:
        import httpx
        import jwt
        from cryptography.hazmat.primitives.asymmetric import ec
    except ImportError:
        print("cds: skipped (pip install 'b12[web]' httpx)")
        return True
    from b12.bootstrap import Settings, upgrade

    folder = Path(tempfile.mkdtemp(prefix="b12-bench-cds-"))
    key = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    issuers = folder / "issuers.json"
    jwks = {"keys": [{**public, "kid": "bench", "alg": "ES256"}]}
    issuers.write_text(json.dumps({"issuers": {ISSUER: {"jwks": jwks}}}))
    database = str(folder / "cds.db")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "B12_AUDIT_KEY_FILE": str(folder / "audit.key"),
        "B12_DATABASE_URL": database,
        "B12_CDS_ISSUERS": str(issuers),
    }
    upgrade(Settings.read(database_url=database, audit_key_file=env["B12_AUDIT_KEY_FILE"]))
    port = _free_port()
    code = "import sys; from bench.cds import serve; serve(int(sys.argv[1]))"
    proc = subprocess.Popen([sys.executable, "-c", code, str(port)], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/bench/bare", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the CDS server did not start") from None
                time.sleep(0.1)
        bare, sign = asyncio.run(_run(port, proc.pid, key))
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
    _print(f"cds: bare endpoint, same server (baseline) at {RATE}/s", bare)
    _print(f"cds: order-sign over HTTP at {RATE}/s", sign)
    ok = sign["p99"] < BUDGET_P99 and sign["errors"] == 0 and DURATION >= 30
    print(
        f"{'cds: order-sign against the baseline':<48} p50 x{sign['p50'] / bare['p50']:.1f}, "
        f"p99 x{sign['p99'] / bare['p99']:.1f}; budget p99 < 50 ms, 0 errors, >= 30 s: "
        f"{'met' if ok else 'MISSED'}"
    )
    return ok


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    cds_order_sign()
