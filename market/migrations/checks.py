"""Changing a CHECK constraint in a migration without copying the table.

On SQLite, ALTER TABLE cannot change a constraint, and alembic's batch mode copies the table and drops the
old one, which with foreign keys on deletes (ON DELETE CASCADE) or refuses (rows referring to it) whatever
refers to it: the users, ledger and milestone tables all have such rows. SQLite documents another way for
changes that leave the stored rows valid (its "Making Other Kinds Of Table Schema Changes"): rewrite the
table's CREATE statement in the schema, bump the schema version, check integrity. We use it only to widen an
IN list, or to add a check that no existing row can break (said at each use).
"""
from __future__ import annotations

from alembic import op
from sqlalchemy import text


def replace_check(table: str, name: str, old: str | None, new: str | None) -> None:
    """Constraint `name` of `table` goes from CHECK (old) to CHECK (new); old None: it is added; new None: it
    is dropped (SQLite: only one this module added last, at the end of the statement)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        if old is not None:
            op.drop_constraint(op.f(name), table, type_="check")
        if new is not None:
            op.create_check_constraint(op.f(name), table, new)
        return
    sql = bind.execute(text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"),
                       {"t": table}).scalar_one()
    if new is None:
        clause = f", \n\tCONSTRAINT {name} CHECK ({old})\n)"
        if not sql.endswith(clause):
            raise RuntimeError(f"{table}: expected the constraint {name} at the end of its schema")
        changed = sql[:-len(clause)] + "\n)"
    elif old is None:
        closing = sql.rstrip().rindex(")")
        changed = f"{sql[:closing].rstrip()}, \n\tCONSTRAINT {name} CHECK ({new})\n)"
    else:
        clause = f"CONSTRAINT {name} CHECK ({old})"
        if sql.count(clause) != 1:
            raise RuntimeError(f"{table}: expected the constraint {clause!r} in its schema once")
        changed = sql.replace(clause, f"CONSTRAINT {name} CHECK ({new})")
    version = bind.execute(text("PRAGMA schema_version")).scalar_one()
    bind.execute(text("PRAGMA writable_schema = ON"))
    bind.execute(text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = :t"),
                 {"sql": changed, "t": table})
    bind.execute(text(f"PRAGMA schema_version = {int(version) + 1}"))
    bind.execute(text("PRAGMA writable_schema = OFF"))
    problems = bind.execute(text("PRAGMA integrity_check")).scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"{table}: the schema change left the database inconsistent: {problems}")
