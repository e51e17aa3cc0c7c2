"""Virtual cards (card emulators) for the demo and tests: they play the card, never read one.

- :mod:`pos.virtualcard.credentials` — a CA and a card's RSA key and user-authentication
  certificate, made here (the demo's and the tests' trust anchor).
- :mod:`pos.virtualcard.applet` — what a card answers to APDUs: a My Number Card's JPKI AP
  (:class:`~pos.virtualcard.applet.JpkiCard`) or a plain UID card, with faults on purpose.
- :mod:`pos.virtualcard.vcard` — an applet served over the vpcd socket, so pcscd sees a real
  reader with a card on it (``python -m pos.virtualcard.vcard --dir DIR``, what ``make demo`` runs).

The product's reader code is :mod:`pos.card`; only its simulated reader and the tests use this.
"""
