"""Evidence files on the site and the API (issue 17): where they are kept, how uploads are read, and the one
route that serves them, to whoever may read the milestone they prove (market/services/delivery.py).

The evidence folder is EVIDENCE_DIR (config, or SWARM_EVIDENCE_DIR), by default `evidence/` in the instance
folder. A report's request may carry up to MAX_FILES files of MAX_FILE_BYTES each: requests are otherwise held
to MAX_CONTENT_LENGTH (1 MB), so the report views' limit is raised (`raise_upload_limits`) before anything reads them.
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Flask, Response, current_app, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from werkzeug.datastructures import FileStorage

from market.services import delivery
from market.storage import DiskStorage, Storage

from .auth import current
from .db import sessions

bp = Blueprint("evidence", __name__, url_prefix="/evidence")
UPLOAD_LIMIT = delivery.MAX_FILES * delivery.MAX_FILE_BYTES + 1024 * 1024      # the files and the form around them
# Shown in the browser (a photo, a PDF in its viewer), never run: no script, no sniffing of another type.
INLINE = {"image/jpeg", "image/png", "application/pdf"}


# The views whose requests carry evidence files (the report form, the API's report).
UPLOAD_ENDPOINTS = {"milestones.report", "api.report_create"}


def raise_upload_limits(app: Flask) -> None:
    """Before CSRF reads a report's form (so call this before csrf.init_app), raise its size limit."""
    @app.before_request
    def _upload_limit() -> None:
        # The site's form: only for a logged-in actor (CSRF parses the body before the view's login check).
        # The API's: its token is checked before anything reads the body.
        if request.endpoint == "api.report_create" or (
                request.endpoint in UPLOAD_ENDPOINTS and getattr(current_user, "role", None) == "actor"):
            allow_uploads()


def init_app(app: Flask) -> None:
    if not app.config.get("EVIDENCE_DIR"):
        app.config["EVIDENCE_DIR"] = (os.environ.get("SWARM_EVIDENCE_DIR", "").strip()
                                      or str(Path(app.instance_path) / "evidence"))
    app.register_blueprint(bp)


def storage() -> Storage:
    return DiskStorage(current_app.config["EVIDENCE_DIR"])


def allow_uploads() -> None:
    """Raise this request's size limit to what a delivery report with its files may take."""
    request.max_content_length = UPLOAD_LIMIT


def uploads(files: list[FileStorage]) -> list[delivery.Upload]:
    """The files of a form field, read whole (each at most MAX_FILE_BYTES + 1: the service says if too big);
    the empty entry a browser sends for an untouched file input is left out."""
    out = []
    for item in files:
        data = item.stream.read(delivery.MAX_FILE_BYTES + 1)
        if not data and not item.filename:
            continue
        out.append(delivery.Upload(item.filename or "", data))
    return out


@bp.route("/<int(max=9223372036854775807):file_id>")
@login_required
def file(file_id: int) -> ResponseReturnValue:
    with sessions().begin() as session:
        row, data = delivery.evidence(session, current(), file_id, storage())
        name, content_type = row.name, row.content_type
    disposition = "inline" if content_type in INLINE else "attachment"
    response = Response(data, mimetype=content_type)
    response.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(name, safe='')}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
