"""The server's errors: one family, each with a stable ``code``, a status and a Japanese/English message.

Every refusal the server gives is an :class:`ApiError` (or is translated into one at the
boundary in :mod:`server.app`), so the wire always carries :class:`points.wire.ErrorBody`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

#: The languages a refusal can be given in alone (``Accept-Language``); else both, ``ja / en``.
LANGUAGES = ("ja", "en")


@dataclass(frozen=True, slots=True)
class Words:
    """One text in Japanese and English, so that a client asking for one language gets only that one."""

    ja: str
    en: str

    def __str__(self) -> str:
        return self.ja if self.ja == self.en else f"{self.ja} / {self.en}"

    def in_language(self, language: str | None) -> str:
        """The text in ``language`` (``ja`` or ``en``), or both when none is asked for."""
        return self.ja if language == "ja" else self.en if language == "en" else str(self)


def language_of(accept_language: str | None) -> str | None:
    """The first of ``ja`` / ``en`` an ``Accept-Language`` header names (``ja-JP`` counts), else None.

    Quality values are read in order of preference; a header naming neither gets both languages.
    """
    ranked = []
    for n, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        base = tag.strip().lower().split("-")[0]
        if base in LANGUAGES and q > 0:
            ranked.append((-q, n, base))
    return min(ranked)[2] if ranked else None


#: code → (HTTP status, Japanese, English). Codes are stable: terminals and scripts match on them.
CATALOG: dict[str, tuple[int, str, str]] = {
    # Requests and auth
    "invalid_request": (422, "リクエストの形式が正しくありません", "The request is not valid"),
    "unauthorized": (401, "認証が必要です", "A valid bearer token is required"),
    "forbidden": (403, "この操作の権限がありません", "This principal may not do that"),
    "not_found": (404, "見つかりません", "Not found"),
    "method_not_allowed": (405, "この操作はできません", "Method not allowed"),
    "internal_error": (500, "サーバーで問題が起きました", "Internal server error"),
    "database_unavailable": (
        503,
        "データベースに接続できません。同じ取引IDで再送してください",
        "The database is unreachable (a failover?): send again with the same id",
    ),
    # Idempotency
    "idempotency_mismatch": (
        409,
        "同じIDで内容の違う取引が送られました",
        "This id was already used with a different body",
    ),
    "operation_id_taken": (
        409,
        "このIDは別の種類の取引にすでに使われています",
        "This id already names an operation of another kind",
    ),
    # Programs, cards and points
    "unknown_program": (404, "ポイント事業が見つかりません", "Unknown program"),
    "program_not_accepted": (
        400,
        "この店舗ではこのポイントを使えません",
        "This merchant does not accept this program",
    ),
    "not_eligible": (
        409,
        "このカードはこの事業の対象ではありません",
        "This card is not eligible for this program",
    ),
    "insufficient_points": (409, "ポイントが足りません", "Not enough points"),
    # Online sales (issue 15)
    "out_of_stock": (409, "在庫が足りません", "Not enough of this product is in stock"),
    "order_shipped": (
        409,
        "発送済みの商品がある注文は取り消せません",
        "An order with a shipped line cannot be cancelled",
    ),
    "order_cancelled": (409, "この注文は取り消されています", "This order was cancelled"),
    "order_not_shipped": (
        409,
        "発送前の商品は返金できません。注文を取り消してください",
        "Only a shipped line is refunded: cancel the order instead",
    ),
    "refund_exceeds_line": (409, "返金額が商品の金額を超えます", "Refunds would exceed the line's amount"),
    "points_exceed_total": (400, "ポイントが支払額を超えています", "Points exceed the amount due"),
    "underpaid": (400, "支払額が足りません", "The tenders do not cover the total"),
    "external_exceeds_due": (
        400,
        "クレジット・QR・電子マネーが支払額を超えています",
        "Other tenders exceed the amount due",
    ),
    "no_award_rule": (400, "この事業には付与ルールがありません", "This program has no award rule for this"),
    # PIN and signature
    "pin_required": (
        409,
        "この金額には暗証番号と署名が必要です",
        "A PIN-verified card signature is required for this amount",
    ),
    "challenge_invalid": (
        409,
        "チャレンジが無効か使用済みです",
        "The challenge is unknown, used or expired",
    ),
    "signature_invalid": (400, "カードの署名を確認できません", "The card signature does not verify"),
    "certificate_invalid": (
        400,
        "カードの証明書を確認できません",
        "The card certificate is not trusted or does not match the card",
    ),
    "certificate_expired": (
        409,
        "証明書の有効期限が切れています。更新後に窓口で引継ぎを",
        "The card's certificate has expired: renew it, then have the points moved at the city desk",
    ),
    "certificate_revoked": (
        409,
        "このカードの証明書は失効しています。市役所の窓口へ",
        "The card's certificate is revoked: the resident should go to the city desk",
    ),
    "crl_out_of_date": (
        409,
        "失効リストの更新期限が過ぎているため、暗証番号での取引はできません。管理者に失効リストの取り込みを依頼してください",
        "The certificate revocation list is past its next update: PIN sales and desk links wait until"
        " the administrator imports a current one",
    ),
    # Resident accounts and their cards
    "card_blocked": (
        409,
        "このカードは利用停止中です。市役所の窓口へ",
        "This card is blocked (reported lost): the resident should go to the city desk",
    ),
    "card_replaced": (
        409,
        "このカードは新しいカードに引き継がれました。新しいカードをお使いください",
        "This card was replaced by a newer one: use the new card",
    ),
    "card_already_linked": (
        409,
        "このカードはすでに別のアカウントにつながっています",
        "This card is already linked to an account: merge the accounts instead",
    ),
    "account_not_found": (404, "アカウント番号が見つかりません", "No resident account has this number"),
    "account_merged": (
        409,
        "このアカウントは別のアカウントに統合されています",
        "This account was merged into another one",
    ),
    "card_not_blocked": (409, "このカードは利用停止されていません", "This card is not blocked"),
    "crl_invalid": (
        400,
        "失効リストを確認できません",
        "The CRL cannot be read or is not signed by a trusted CA",
    ),
    "offline_limit_exceeded": (
        409,
        "オフラインで使えるポイントの上限を超えています",
        "More points than the program allows offline",
    ),
    # Tickets
    "ticket_garbled": (400, "ポイント券を読み取れません", "The ticket cannot be read"),
    "ticket_unknown_key": (400, "発行元を確認できない券です", "The ticket's signing key is unknown"),
    "ticket_bad_signature": (400, "券の署名が正しくありません", "The ticket's signature does not match"),
    "ticket_invalid": (400, "無効な券です", "The ticket is not valid"),
    "ticket_expired": (409, "有効期限が切れた券です", "The ticket has expired"),
    "ticket_already_redeemed": (409, "この券は使用済みです", "This ticket was already redeemed"),
    "ticket_not_needed": (400, "支払いに必要のない券です", "The ticket is not needed to pay this sale"),
    "receipt_already_used": (
        409,
        "このレシートはすでに券と交換されています",
        "This receipt was already exchanged for tickets",
    ),
    "receipt_sale_voided": (
        409,
        "このレシートの取引は取り消されています",
        "The sale on this receipt was voided",
    ),
    "receipt_mismatch": (
        409,
        "レシートの内容がサーバーの取引と一致しません",
        "The receipt does not match the sale the server holds",
    ),
    "receipt_sale_unknown": (404, "このレシートの取引が見つかりません", "The server holds no such sale"),
    "tickets_would_be_expired": (
        409,
        "有効期限が過ぎた券は発行できません",
        "The program's tickets would already be past their last day",
    ),
    "ticket_cancelled": (
        409,
        "この券は取り消されています",
        "This ticket was cancelled: the sale on its receipt was voided",
    ),
    "unknown_merchant": (404, "店舗が見つかりません", "Unknown merchant"),
    # Voids, awards and conversions
    "void_not_same_day": (409, "当日の取引しか取り消せません", "Only a sale of the same day can be voided"),
    "award_spent": (
        409,
        "付与したポイントがすでに使われているため取り消せません",
        "The points this sale awarded were already spent",
    ),
    "already_awarded": (
        409,
        "このカードはこのイベントで付与済みです",
        "This card was already awarded for this event",
    ),
    "sale_not_found": (404, "取引が見つかりません", "Unknown sale"),
    # Returns (返品)
    "return_empty": (400, "返品する金額がありません", "A return gives back at least one yen"),
    "return_exceeds_sale": (
        409,
        "返品の金額が取引の残りを超えています",
        "The return exceeds what is left of the sale at that tax rate",
    ),
    "refund_points_exceed_sale": (
        409,
        "戻すポイントがこの取引で使われたポイントを超えています",
        "More points refunded than the sale redeemed, less earlier returns",
    ),
    "refund_mismatch": (
        400,
        "返金の合計が返品の金額と合いません",
        "The refund does not add up to the returned amount",
    ),
    "return_card_mismatch": (
        409,
        "ポイントを戻すカードがこの取引のカードではありません",
        "Points go back only to the card the sale was paid with",
    ),
    "return_of_voided_sale": (409, "取り消した取引は返品できません", "A voided sale cannot be returned"),
    "return_award_spent": (
        409,
        "付与したポイントがすでに使われているため、この返品で差し引けません",
        "The awarded points this return takes back were already spent",
    ),
    "sale_has_returns": (
        409,
        "返品のある取引は取り消せません",
        "A sale with returns cannot be voided",
    ),
    "terminal_mode": (403, "この端末の用途ではできない操作です", "This terminal's mode does not allow that"),
    # Memberships at libraries and facilities
    "not_a_member": (
        404,
        "このカードはこの施設の会員として登録されていません",
        "The card carries no membership at this library or facility",
    ),
    "membership_suspended": (
        409,
        "この館での利用登録は停止中です。館の窓口へ",
        "The membership here is suspended by the library or facility",
    ),
    "membership_already_linked": (
        409,
        "このカードにはこの館の別の会員番号がすでに登録されています",
        "The card's account already has another membership number here",
    ),
    "membership_number_taken": (
        409,
        "この会員番号は別の住民アカウントに登録されています",
        "This membership number is linked to another resident's account",
    ),
    # Online shops: card approvals (docs/dev/online-api.md)
    "approval_invalid": (
        404,
        "この確認コードは使えません(誤り・使用済み・期限切れ)",
        "The approval or its user code is unknown, used or expired",
    ),
    "rate_limited": (
        429,
        "試行が多すぎます。しばらく待ってからやり直してください",
        "Too many attempts: wait a little and try again",
    ),
}


# Only "forbidden" and "terminal_mode" (who may call) and "unauthorized" use 401/403: terminals treat
# those as a configuration problem, while a refused sale (409/400) is shown to the shopkeeper.


class ApiError(Exception):
    """A refusal with a stable ``code``; its status and bilingual message come from :data:`CATALOG`."""

    #: code → (HTTP status, Japanese, English); a subsystem's errors subclass with their own catalog.
    catalog: ClassVar[dict[str, tuple[int, str, str]]] = CATALOG
    #: Every catalog of the family, this one first; a subclass's is added when it is defined.
    catalogs: ClassVar[list[dict[str, tuple[int, str, str]]]] = [CATALOG]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if not any(known is cls.catalog for known in ApiError.catalogs):
            ApiError.catalogs.append(cls.catalog)

    def __init__(
        self, code: str, detail: str | Words = "", items: list[dict[str, object]] | None = None
    ) -> None:
        status, ja, en = self.catalog[code]
        super().__init__(f"{code}: {detail or en}")
        self.code = code
        self.status = status
        self.words = Words(ja, en)
        self.about = detail if isinstance(detail, Words) else Words(detail, detail)
        self.message = self._both = self.message_in(None)
        #: What the refusal is about, for a client to put in its own words (``detail`` of the body):
        #: the ``items`` given, else the detail text as ``[{"text": ...}]`` (with ``ja`` and ``en``
        #: when it was given in both), else nothing.
        self.detail: list[dict[str, object]] | None = items or (
            [
                {"text": str(detail)}
                | ({"ja": detail.ja, "en": detail.en} if isinstance(detail, Words) else {})
            ]
            if detail
            else None
        )

    def message_in(self, language: str | None) -> str:
        """The message in ``language`` (``ja``/``en``, what is about included), or in both (None)."""
        if getattr(self, "_both", None) not in (None, getattr(self, "message", None)):
            return self.message  # a message set after the fact (a replayed refusal keeps its own words)
        about = self.about.in_language(language)
        if language is None:
            return f"{self.words.ja} / {self.words.en}" + (f": {about}" if about else "")
        return self.words.in_language(language) + (f": {about}" if about else "")

    def body(self, language: str | None = None) -> dict[str, object]:
        """The JSON body (:class:`points.wire.ErrorBody`), its message in ``language`` or in both."""
        body: dict[str, object] = {"code": self.code, "message": self.message_in(language)}
        if self.detail is not None:
            body["detail"] = self.detail
        return body


def catalog() -> dict[str, tuple[int, str, str]]:
    """Every code the server can send, as one table: code → (HTTP status, Japanese, English).

    The server's own :data:`CATALOG` and each subsystem's (settlement's is listed once
    :mod:`server.settlement.errors` is imported, as :mod:`server.app` does). Terminals and the
    contract test read this table.

    Raises:
        ValueError: a code appears in two catalogs (a code must mean one thing).
    """
    merged: dict[str, tuple[int, str, str]] = {}
    for table in ApiError.catalogs:
        for code, entry in table.items():
            if code in merged:
                raise ValueError(f"error code {code!r} is in two catalogs")
            merged[code] = entry
    return merged
