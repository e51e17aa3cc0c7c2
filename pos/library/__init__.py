"""The library desk's side of the library: SIP2 to the library's own system, and the desk's flow.

Libraries keep their own systems (Koha, Evergreen, a Japanese vendor's); the desk talks to them in
SIP2 (3M Standard Interchange Protocol 2.00) over TCP, as their self-check machines do:

- :mod:`pos.library.errors` — the one exception family (library down, timed out, refused, garbled);
- :mod:`pos.library.sip2` — the client: login, status, patron status and information, checkout,
  checkin, each answer's checksum and sequence number verified;
- :mod:`pos.library.desk` — the desk's flow without a screen: may this patron borrow, lend a list
  of barcodes, return, and the lending slip for the receipt printer.

This package imports no screen and no server code: the screens (``pos.screens.library``) are handed a
:class:`~pos.library.desk.LibraryDesk`, and the server's memberships reach it through the
:class:`~pos.library.desk.MembershipLookup` seam.
"""
