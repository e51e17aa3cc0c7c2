"""The cash drawer kick (ドロア): a pulse the printer sends down its drawer connector.

``ESC p m t1 t2``: ``m`` 0 for connector pin 2 (1 for pin 5), the pulse on for ``t1`` × 2 ms and
off for ``t2`` × 2 ms. python-escpos builds it (``cashdraw``); the bytes go to the printer like a
receipt's, so a drawer on the printer opens wherever the printer is reachable.
"""

from __future__ import annotations

#: Connector pins python-escpos knows (2 is the usual drawer; 5 a second drawer).
PINS = (2, 5)


def drawer_pulse(pin: int = 2) -> bytes:
    """The bytes that open the drawer on connector ``pin`` (2 or 5): python-escpos's standard pulse.

    Raises:
        ValueError: a pin other than 2 or 5.
    """
    if pin not in PINS:
        raise ValueError(f"a drawer is on connector pin 2 or 5, not {pin!r}")
    from printers._escpos import Dummy  # python-escpos only when a drawer is opened

    printer = Dummy()
    printer.cashdraw(pin)
    return bytes(printer.output)
