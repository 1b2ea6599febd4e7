"""Served by `bench/web.py` in its own process: the b12 web app on a seeded record, or a bare
FastAPI endpoint (the baseline), on 127.0.0.1:PORT until killed."""

from __future__ import annotations

import sys


def main(mode: str, port: int, database: str) -> None:
    import uvicorn
    from fastapi import FastAPI

    if mode == "bare":
        web = FastAPI()

        @web.get("/bare")
        def bare() -> dict[str, bool]:
            return {"ok": True}

    else:
        from b12.adapters.passwords import argon2id
        from b12.adapters.web.app import create_app
        from b12.bootstrap import Settings, build

        web = create_app(build(Settings.read(database_url=database), passwords=argon2id()))
    uvicorn.run(web, host="127.0.0.1", port=port, log_level="error", access_log=False)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
