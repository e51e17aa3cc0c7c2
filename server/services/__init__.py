"""The server's service layer: what a v1 request decides, apart from HTTP.

One module per resource, beside its router in :mod:`server.routers`: the router parses the
request and answers; the service checks that the principal owns what it touches, orchestrates
the domain modules (:mod:`server.sales`, :mod:`server.issuing`, :mod:`server.cards`,
:mod:`server.ledger`) and the store's group commit (:meth:`server.store.Store.write`), and raises
:class:`server.errors.ApiError` for a refusal. Stored answers come back as the JSON text that
was stored, so a retry gets the same bytes.
"""
