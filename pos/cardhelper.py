"""``mykey-pos card helper --server URL``: the resident's card helper for a city's special site.

The site shows a user code; the resident types it here. The helper looks the code up on the
server, shows the site's name and origin and what is asked (sign-in, or a payment of N points),
waits for the My Number Card on the reader, asks the PIN itself (``getpass``: never echoed, never
logged, never sent anywhere: the card checks it), has the card sign the approval's challenge and
sends the signature. The site sees the approval signed and goes on. It reuses :mod:`pos.card`
for reading and signing, and is outside that package because it talks HTTP (``pos.card`` may not).

Exit status: 0 signed, 1 refused (by the server or the card), 2 no reader / no server, 3 no card
in time, 4 the resident said no.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import pathlib
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import httpx

from pos.card import errors, events
from pos.card.base import CardReader, make_reader
from pos.i18n import _, set_language
from pos.sync import refusal_text

EXIT_OK, EXIT_REFUSED, EXIT_NO_SERVICE, EXIT_TIMEOUT, EXIT_DECLINED = 0, 1, 2, 3, 4


def register(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``helper`` to ``mykey-pos card``'s actions."""
    sub = actions.add_parser(
        "helper", help="sign in or pay on a city's site with the My Number Card (asks the PIN here)"
    )
    sub.add_argument("--server", required=True, help="the settlement server's URL (the site names it)")
    sub.add_argument("--code", help="the code the site shows (asked for when not given)")
    sub.add_argument("--reader", help="only this reader ('sim': a simulated card, see --sim-card)")
    sub.add_argument(
        "--sim-card",
        type=pathlib.Path,
        help="with --reader sim: the demo card's folder (make demo prints it)",
    )
    sub.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the card (default 60)")
    sub.add_argument(
        "--yes", action="store_true", help="do not ask to confirm the site (the PIN is still asked)"
    )
    sub.add_argument("--ca", help="a CA file to verify the server's certificate with")
    sub.add_argument("--lang", choices=("ja", "en"), default="ja", help="language")
    sub.set_defaults(run=run)


class Refused(Exception):
    """The server refused: its code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(path, json=body)
    if answer.status_code >= 400:
        try:
            code = str(answer.json()["code"])
        except (ValueError, KeyError, TypeError):
            code = f"http_{answer.status_code}"
        raise Refused(code)
    result: dict[str, Any] = answer.json()
    return result


def _wait_for_card(reader: CardReader, name: str | None, timeout: float, out: TextIO) -> str:
    """The reader holding a card (waiting for one up to ``timeout``)."""
    readers = reader.readers()
    if not readers:
        raise errors.NoReader()
    reader.start()
    out.write(_("Put the My Number Card on the reader.") + "\n")
    out.flush()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        event = reader.events.get(left)
        if isinstance(event, events.CardPresent) and (name is None or event.reader == name):
            return event.reader


def _reader(args: argparse.Namespace) -> CardReader:
    if args.reader != "sim":
        return make_reader("pcsc")
    from pos.card.simulated import SimulatedReader, saved_jpki_card

    simulated = SimulatedReader()
    if args.sim_card is not None:
        simulated.tap(saved_jpki_card(args.sim_card))
    return simulated


def run(
    args: argparse.Namespace,
    out: TextIO | None = None,
    ask: Callable[[str], str] = input,
    ask_pin: Callable[[str], str] = getpass.getpass,
    reader: CardReader | None = None,
) -> int:
    """Run the helper; ``out``, ``ask``, ``ask_pin`` and ``reader`` are for tests and the demo."""
    out = out or sys.stdout
    set_language(args.lang)
    verify: bool | str = args.ca or True
    with httpx.Client(base_url=args.server.rstrip("/"), timeout=15.0, verify=verify) as client:
        code = args.code or ask(_("The code the site shows (8 characters): "))
        try:
            found = _post(client, "/v1/approvals/lookup", {"user_code": code.strip()})
        except Refused as refused:
            out.write(refusal_text(refused.code) + "\n")
            return EXIT_REFUSED
        except httpx.HTTPError as error:
            out.write(_("Cannot reach the server: {error}").format(error=type(error).__name__) + "\n")
            return EXIT_NO_SERVICE
        out.write(_("Site: {name}").format(name=found["site_name"]) + "\n")
        out.write(_("Address: {origin}").format(origin=found["origin"]) + "\n")
        if found["purpose"] == "payment":
            asked = _("Pay {points} points").format(points=f"{int(found['amount']):,}")
        else:
            asked = _("Sign in")
        out.write(_("Asked: {what}").format(what=asked) + "\n")
        out.write(_("Check that this is the site you are using.") + "\n")
        out.flush()
        if not args.yes and ask(_("Go on? [y/N] ")).strip().lower() not in ("y", "yes", "はい"):
            out.write(_("Stopped. Nothing was signed.") + "\n")
            return EXIT_DECLINED
        reader = reader or _reader(args)
        try:
            signed = _sign(reader, args, found, out, ask_pin)
        except TimeoutError:
            out.write(_("No card in {seconds} seconds.").format(seconds=f"{args.timeout:g}") + "\n")
            return EXIT_TIMEOUT
        except errors.CardError as error:
            out.write(error.message() + "\n")
            no_service = isinstance(error, errors.PcscUnavailable | errors.NoReader | errors.ReaderGone)
            return EXIT_NO_SERVICE if no_service else EXIT_REFUSED
        finally:
            reader.stop()
        if signed is None:
            return EXIT_REFUSED
        signature, certificate = signed
        proof = {
            "challenge_id": found["challenge_id"],
            "signature": base64.b64encode(signature).decode(),
            "certificate": base64.b64encode(certificate).decode(),
        }
        try:
            _post(client, "/v1/approvals/sign", {"user_code": code.strip(), "pin_proof": proof})
        except Refused as refused:
            out.write(refusal_text(refused.code) + "\n")
            return EXIT_REFUSED
        except httpx.HTTPError as error:
            out.write(_("Cannot reach the server: {error}").format(error=type(error).__name__) + "\n")
            return EXIT_NO_SERVICE
    out.write(_("Done. Go back to the site's page.") + "\n")
    return EXIT_OK


def _sign(
    reader: CardReader,
    args: argparse.Namespace,
    found: dict[str, Any],
    out: TextIO,
    ask_pin: Callable[[str], str],
) -> tuple[bytes, bytes] | None:
    """Read the card, ask its PIN (again after a wrong one while two tries are left), sign the nonce."""
    name = None if args.reader in (None, "sim") else args.reader
    where = _wait_for_card(reader, name, args.timeout, out)
    nonce = base64.b64decode(found["nonce"])
    while True:
        with reader.connect(where) as session:
            identity = session.read_identity()
            if identity.certificate_der is None:
                raise errors.NotMyNumberCard()
            pin = ask_pin(_("PIN for user authentication (4 digits): "))
            try:
                signature = session.sign_challenge(pin, nonce)
            except errors.WrongPin as wrong:
                out.write(wrong.message() + "\n")
                if wrong.tries_left >= 2:
                    continue
                return None
            finally:
                del pin
        return signature, identity.certificate_der
