"""Settlement arithmetic (精算): a claim's amounts and the program's fee share, in whole yen.

A merchant's claim for one period and one issuing program is what it redeemed (points and
tickets) less what was voided; the program may keep a share of that as an operating fee
(Miyakonojo). The fee is rounded down to the yen once per claim, in the merchant's favour, and the
fraction dropped is stated so a clerk can see that nothing was lost by accident.
"""

from __future__ import annotations

from dataclasses import dataclass

PERMILLE = 1000


@dataclass(frozen=True, slots=True)
class FeeShare:
    """A fee in yen and the fraction of a yen dropped when rounding it down.

    ``remainder_permille`` is in thousandths of a yen: a fee of 12.345 yen is ``yen=12``,
    ``remainder_permille=345``.
    """

    yen: int
    remainder_permille: int

    @property
    def remainder_text(self) -> str:
        """The dropped fraction as a decimal of a yen, e.g. ``0.345``."""
        return f"0.{self.remainder_permille:03d}"


def fee_share(gross: int, fee_share_permille: int) -> FeeShare:
    """The fee a program keeps of a claim's gross amount, rounded down to the yen.

    Args:
        gross: the claim's redeemed value after voids, in yen (non-negative).
        fee_share_permille: the program's share in tenths of a percent (0-1000).

    Raises:
        ValueError: a negative gross or a share outside 0-1000.
    """
    if gross < 0 or isinstance(gross, bool) or not isinstance(gross, int):
        raise ValueError(f"gross must be a non-negative int, got {gross!r}")
    if not 0 <= fee_share_permille <= PERMILLE:
        raise ValueError(f"fee share out of range: {fee_share_permille}")
    exact = gross * fee_share_permille
    return FeeShare(yen=exact // PERMILLE, remainder_permille=exact % PERMILLE)


BASIS_POINTS = 10_000


def online_fee(gross: int, fee_bp: int) -> FeeShare:
    """The fee a program keeps of a merchant's online sales (its ``online_fee_bp``), rounded down once.

    The share is in basis points (1/100 of a percent); the fraction of a yen dropped is stated in
    thousandths of a yen like :func:`fee_share`'s (rounded down too: it is shown, never paid).

    Raises:
        ValueError: a negative or non-int gross, or a share outside 0-10000.
    """
    if gross < 0 or isinstance(gross, bool) or not isinstance(gross, int):
        raise ValueError(f"gross must be a non-negative int, got {gross!r}")
    if not 0 <= fee_bp <= BASIS_POINTS:
        raise ValueError(f"online fee share out of range: {fee_bp}")
    exact = gross * fee_bp
    return FeeShare(yen=exact // BASIS_POINTS, remainder_permille=(exact % BASIS_POINTS) // 10)


@dataclass(frozen=True, slots=True)
class ClaimAmounts:
    """One claim's money: what was redeemed, what was voided, the fee kept and what is paid.

    ``disputed`` (sales refused on sync, duplicate tickets) is listed apart: it is never in
    ``gross`` or ``net`` until someone settles the dispute.
    """

    redeemed_points: int
    redeemed_tickets: int
    voided: int
    fee: FeeShare
    disputed: int = 0

    @property
    def gross(self) -> int:
        """Points and tickets redeemed less voids."""
        return self.redeemed_points + self.redeemed_tickets - self.voided

    @property
    def net(self) -> int:
        """What the merchant is paid: gross less the program's fee."""
        return self.gross - self.fee.yen


def claim_amounts(
    redeemed_points: int,
    redeemed_tickets: int,
    voided: int,
    fee_share_permille: int,
    disputed: int = 0,
) -> ClaimAmounts:
    """A claim's amounts from its sums, the fee rounded once for the whole claim.

    Raises:
        ValueError: a negative sum, or voids larger than what was redeemed.
    """
    for value in (redeemed_points, redeemed_tickets, voided, disputed):
        if value < 0 or isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"claim sums must be non-negative ints, got {value!r}")
    gross = redeemed_points + redeemed_tickets - voided
    if gross < 0:
        raise ValueError(f"voids {voided} exceed what was redeemed {redeemed_points + redeemed_tickets}")
    return ClaimAmounts(
        redeemed_points=redeemed_points,
        redeemed_tickets=redeemed_tickets,
        voided=voided,
        fee=fee_share(gross, fee_share_permille),
        disputed=disputed,
    )
