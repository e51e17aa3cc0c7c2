"""Card reading: My Number Card (JPKI) and IC cards through PC/SC, or a simulated reader.

Start at :mod:`pos.card.base` (the protocol), :mod:`pos.card.events` and :mod:`pos.card.errors`.
The cards the simulated reader and the tests tap are emulators in :mod:`pos.virtualcard`.
"""
