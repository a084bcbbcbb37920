"""gunicorn settings for Swarm Market on a web node (docs/deploy.md):

    gunicorn -c deploy/gunicorn.conf.py

Threaded workers (gthread): a request waits on the database or on a /solve child process, not on the CPU,
so a few processes with several threads each serve many at once; clearing a round is a job for `swarm
worker`, and /solve is killed at its own bound (time_limit + 10 s, at most 30 s), so no request runs long.
Environment (all optional): SWARM_BIND (127.0.0.1:8000), SWARM_WEB_WORKERS (1 per core, at least 2),
SWARM_WEB_THREADS (8), SWARM_FORWARDED_ALLOW_IPS (127.0.0.1: the TLS proxy's address), SWARM_LOG_FORMAT
(json here; text for people), plus the app's own (SWARM_DATABASE_URL, SWARM_SECRET_KEY, ...).
"""
import os

wsgi_app = "web:create_app()"
bind = os.environ.get("SWARM_BIND", "127.0.0.1:8000")
worker_class = "gthread"
# One process per core: a worker's threads share one GIL, so one worker keeps a core busy. Two per core
# were measured on 2 cores under 50 users (docs/benchmarks.md, "Load"): as many requests a second, about a
# millisecond more CPU each, and twice the 99th percentile of pages, as keep-alive connections pile up
# unevenly on the busier processes.
workers = int(os.environ.get("SWARM_WEB_WORKERS", 0)) or max(2, os.cpu_count() or 1)
threads = int(os.environ.get("SWARM_WEB_THREADS", 8))
# A gthread worker's main loop beats while its threads serve, so `timeout` restarts only a worker that hung
# as a whole; 30 s is above the longest request (/solve: 20 s + 10 s margin, killed there).
timeout = 30
graceful_timeout = 30           # on SIGTERM or a reload, requests in flight get this long to finish
keepalive = 5                   # above nothing: the proxy keeps its own upstream connections short
# The proxy's X-Forwarded-Proto is believed from these addresses only (wsgi.url_scheme). The client's
# address for the per-address rate limits needs the app's ProxyFix: SWARM_PROXY_COUNT=1 (docs/deploy.md).
forwarded_allow_ips = os.environ.get("SWARM_FORWARDED_ALLOW_IPS", "127.0.0.1")

# Logs: one stream on stderr, JSON lines by default. The app writes the access line itself (logger
# swarm.access: request id, method, path with reset tokens hidden, status, duration_ms), so gunicorn's own
# access log stays off (it would also write reset tokens); its error log goes through the same formatter.
_format = os.environ.get("SWARM_LOG_FORMAT", "json")
accesslog = None
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request": {"()": "web.logs.RequestContext"}},
    "formatters": {"swarm": {"()": "web.logs.JsonLines" if _format == "json" else "web.logs.TextLines"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "swarm", "filters": ["request"],
                             "stream": "ext://sys.stderr"}},
    "root": {"level": os.environ.get("SWARM_LOG_LEVEL", "INFO"), "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
        # gunicorn's own access line: off (the app's replaces it; gunicorn's would show reset tokens)
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        "alembic": {"level": "WARNING"},        # /readyz reads the migration: no two INFO lines per probe
    },
}
