"""The city's special site (自治体特設サイト): server-rendered Japanese pages for residents (issue 15).

A web app of its own (Starlette + Jinja2), a client of the server's HTTP API like the settlement
console: it holds an ``online_shop`` token and, for a signed-in resident, that resident's session
token, and imports nothing of the server's internals (an import-linter contract). Start at
:mod:`server.site.app` (the app and what every page shares), :mod:`server.site.client` (the API)
and :mod:`server.site.account` (sign-in with the card, the resident's own page, sign-out).
"""
