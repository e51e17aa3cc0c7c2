"""Settlement (精算): claim periods, chamber and city approval, statements and Zengin transfer files.

The month of the chamber of commerce (商工会) and the city: every redeemed point and ticket turns
into money in a shop's bank account, nothing counted twice and nothing missing. Submodules:

- :mod:`server.settlement.zengin` — the 全銀協 総合振込 file, written and read back.
- :mod:`server.settlement.store` — settlement's own tables next to the ledger's.
- :mod:`server.settlement.periods` — periods, closing (freezing claims) and reopening.
- :mod:`server.settlement.claims` — claims per merchant and program, approval and return.
- :mod:`server.settlement.payouts` — who pays whom (city direct or via chamber), the Zengin file,
  the reconciliation.
- :mod:`server.settlement.statements` — statements (明細) as JSON and CSV, summary CSVs, partner reports.
- :mod:`server.settlement.ranking` — the Bungotakada ranking batch.
- :mod:`server.settlement.api` — the HTTP endpoints (``router``, included by ``server.app``);
  their answers are :mod:`points.settlement_wire`, shared with the console.
- :mod:`server.settlement.cli` — the ``mykey-server`` verbs ``period``, ``rank``, ``payer``, ``payout``
  (its ``register`` adds them to the command tree of :mod:`server.cli`).

The arithmetic of a claim (fee share rounding) is domain, in :mod:`points.settlement`.
"""
