"""The app's database: one engine and sessionmaker per app, made lazily; a new SQLite file is migrated
on first use (market.migrate.prepare, as for the command line)."""
from __future__ import annotations

import threading

from flask import Flask, current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from market import migrate
from market.db import make_engine, make_sessionmaker

_lock = threading.Lock()


def init_app(app: Flask) -> None:
    """Sessions are opened and closed by each view's `with sessions().begin()` block."""
    app.extensions["swarm_db"] = {"sessions": None}


def sessions(app: Flask | None = None) -> sessionmaker[Session]:
    """The app's sessionmaker; the first call makes the engine and prepares the database."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    state = app.extensions["swarm_db"]
    if state["sessions"] is None:
        with _lock:
            if state["sessions"] is None:
                url = app.config["DATABASE_URL"]
                engine = make_engine(url)
                try:
                    migrate.prepare(engine, url)
                except BaseException:
                    engine.dispose()
                    raise
                state["engine"] = engine
                state["sessions"] = make_sessionmaker(engine)
    return state["sessions"]


def engine(app: Flask | None = None) -> Engine:
    """The app's engine (made and checked by `sessions`)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    sessions(app)
    found: Engine = app.extensions["swarm_db"]["engine"]
    return found


def dispose(app: Flask) -> None:
    state = app.extensions["swarm_db"]
    if state.get("engine") is not None:
        state["engine"].dispose()
        state["engine"] = state["sessions"] = None
