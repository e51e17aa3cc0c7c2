"""Golden receipts: each document's decoded text compared with a reviewed copy.

Decoded text, not raw bytes, is compared: the bytes may change (a different QR size, a
different cut command) while the paper says the same. To review a change, run with
``UPDATE_GOLDEN=1``, read the diff of ``tests/printers/golden/`` and commit it.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable

import pytest

from printers import decode, render, reprint
from printers.samples import (
    sample_balance,
    sample_end_of_day,
    sample_receipt,
    sample_return,
    sample_signer,
    sample_statement,
    sample_ticket,
    sample_void,
)

GOLDEN = pathlib.Path(__file__).parent / "golden"
SEED = bytes(range(32))

DOCUMENTS: dict[str, Callable[[], object]] = {
    "sale": sample_receipt,
    "sale_reprint": lambda: reprint(sample_receipt()),
    "void": sample_void,
    "return": sample_return,
    "ticket": lambda: sample_ticket(sample_signer(SEED)),
    "balance": sample_balance,
    "end_of_day": sample_end_of_day,
    "statement": sample_statement,
}


@pytest.mark.parametrize("width", [48, 32])
@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_prints_as_reviewed(name: str, width: int) -> None:
    decoded = "\n".join(decode(render(DOCUMENTS[name](), width=width))) + "\n"
    path = GOLDEN / f"{name}_{width}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(decoded, encoding="utf-8")
    assert decoded == path.read_text(encoding="utf-8")
