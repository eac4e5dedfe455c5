"""client-b: a small FastAPI service with the endpoints the deploy pipeline relies on.

GET /health   200 {"status": "ok", "version": ...}; 503 while shutting down
GET /version  the git sha the image was built from (plain text)
Every response carries X-Version, so verify-health can check the version on any path.
"""

import os
import signal
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

VERSION = os.environ.get("GIT_SHA", "unknown")

ITEMS = {1: {"id": 1, "name": "first item"}, 2: {"id": 2, "name": "second item"}}

state = {"stopping": False}


@asynccontextmanager
async def lifespan(_app: FastAPI):
    # uvicorn turns SIGTERM into a graceful shutdown (stop accepting, finish in-flight requests,
    # up to --timeout-graceful-shutdown). Mark the service as stopping first so /health answers 503
    # and the router stops sending new requests here.
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum, frame):
        state["stopping"] = True
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)
    yield


app = FastAPI(title="client-b", version=VERSION, lifespan=lifespan)


@app.middleware("http")
async def version_header(request: Request, call_next):
    response: Response = await call_next(request)
    response.headers["X-Version"] = VERSION
    response.headers["Cache-Control"] = "no-store"
    return response


@app.get("/health")
async def health():
    if state["stopping"]:
        return JSONResponse({"status": "stopping", "version": VERSION}, status_code=503)
    return {"status": "ok", "version": VERSION}


@app.get("/version", response_class=PlainTextResponse)
async def version():
    return f"{VERSION}\n"


@app.get("/api/items")
async def list_items():
    return list(ITEMS.values())


@app.get("/api/items/{item_id}")
async def get_item(item_id: int):
    item = ITEMS.get(item_id)
    if item is None:
        raise HTTPException(status_code=404, detail="not found")
    return item
