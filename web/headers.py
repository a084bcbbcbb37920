"""Security headers on every response (pages, the API, error pages, static files): Flask-Talisman, set up
once here, plus `Cache-Control: no-store` on the pages that show secrets.

    init_app(app)   (called from web.create_app)

- Content-Security-Policy: scripts only with the request's nonce (`<script nonce="{{ csp_nonce() }}"
  src=...>`), so neither an inline script nor an injected tag runs; no plugins, no framing
  (frame-ancestors 'none', and X-Frame-Options: DENY for older browsers); forms post only here.
- X-Content-Type-Options: nosniff; Referrer-Policy: strict-origin-when-cross-origin.
- Strict-Transport-Security only when the session cookies are Secure (SWARM_SECURE_COOKIES=1), and then
  only on HTTPS requests (or X-Forwarded-Proto: https from the TLS proxy). The app never redirects to
  HTTPS itself: that is the proxy's job, and the development server and the tests speak plain HTTP.
- no-store on every page of NO_STORE_BLUEPRINTS: the login and sign-up forms, the account's password
  pages (change, forgotten, reset), the API tokens page that shows a new token once, an actor's own sealed
  bids, a funder's own pledges, the analysts' pages and downloads (the market file holds every sealed bid)
  and every answer of the JSON API (each is the caller's own view).
"""
from __future__ import annotations

from flask import Flask, Response, request
from flask_talisman import Talisman

CSP = {
    "default-src": "'self'",
    "script-src": "",           # only the request's nonce (content_security_policy_nonce_in), not even 'self'
    # plotly draws the Sankey with inline style attributes and a <style> element it writes itself (its
    # modebar, hover labels); a nonce cannot cover style attributes, so styles alone allow 'unsafe-inline'.
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",                  # plotly's modebar icons are data: URIs
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
PERMISSIONS = {"camera": "()", "microphone": "()", "geolocation": "()", "payment": "()"}
NO_STORE_BLUEPRINTS = {"auth", "account", "tokens", "bids", "pledges", "analyst", "api"}


def init_app(app: Flask) -> Talisman:
    secure = bool(app.config.get("SESSION_COOKIE_SECURE"))
    talisman = Talisman(
        app,
        force_https=False,
        strict_transport_security=secure,
        frame_options="DENY",
        content_security_policy=CSP,
        content_security_policy_nonce_in=["script-src"],
        permissions_policy=PERMISSIONS,
        referrer_policy="strict-origin-when-cross-origin",
        # Talisman would otherwise overwrite the app's own cookie settings with its defaults.
        session_cookie_secure=secure,
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
    )
    app.after_request(_no_store_on_secret_pages)
    return talisman


def _no_store_on_secret_pages(response: Response) -> Response:
    if request.blueprint in NO_STORE_BLUEPRINTS:
        response.headers["Cache-Control"] = "no-store"
    return response
