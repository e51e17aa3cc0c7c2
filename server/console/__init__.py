"""The settlement console (``mykey-settle``): a Textual app for chamber and city clerks, over HTTP.

A package of its own, a client of the server like any other: :mod:`server.console.cli` (the
launcher), :mod:`server.console.client` (the HTTP client, answers parsed into
:mod:`points.settlement_wire`) and :mod:`server.console.app` (the screen). It imports only
``points`` and its own modules, never the server's internals (an import contract checks); it
lives under ``server/`` only because the top level stays ``points``, ``pos``, ``printers``,
``server``. The server's headless modules never import ``textual``; only this package does.
"""
