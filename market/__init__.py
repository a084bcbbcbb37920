"""The market over time: rounds of pledges and sealed bids in a database, cleared by `solver`.

- `db`: declarative base, engines (SQLite: foreign keys, WAL, BEGIN IMMEDIATE), sessionmakers;
  the URL is SWARM_DATABASE_URL, else instance/swarm.sqlite3.
- `models`: typed SQLAlchemy 2 models; money in integer cents; an append-only audit log.
- `migrate` and `migrations/`: alembic, configured in code (`swarm db upgrade`).
- `schemas`: marshmallow payload schemas (types and ranges; money to cents).
- `errors`: the domain errors the services raise.
- `services`: the only code that writes (pledge, bid, open/close/clear a round, import/export...).
- `snapshot`: a round as a `swarm-market/1` document, read by the solver's own loader.
- `cli`: the `swarm` command: the engine's commands plus db, import, export, clear, rounds.

Data flows market -> solver; the solver never imports market.
"""
