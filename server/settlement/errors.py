"""Settlement's refusals: each a stable ``code``, an HTTP status and a message in Japanese and English.

They are :class:`server.errors.ApiError` s, so the server's error handler turns them into
:class:`points.wire.ErrorBody` like every other refusal.
"""

from __future__ import annotations

from server.errors import ApiError

#: code → (HTTP status, Japanese, English).
CATALOG: dict[str, tuple[int, str, str]] = {
    "bad_period": (422, "期間の指定が正しくありません", "The period is not YYYY-MM, YYYY-MMa/b or YYYY-Www"),
    "period_not_closed": (409, "この期間はまだ締められていません", "This period is not closed yet"),
    "period_not_started": (
        409,
        "この期間はまだ始まっていないため締められません",
        "This period has not started yet",
    ),
    "period_paid": (
        409,
        "支払承認済みの請求があるため再開できません",
        "The period has claims approved for payment and cannot be reopened",
    ),
    "reason_required": (422, "理由を入力してください", "A reason is required"),
    "claim_not_found": (404, "請求が見つかりません", "Unknown claim"),
    "claim_state": (409, "この請求の状態ではその操作はできません", "The claim's state does not allow that"),
    "no_chamber": (422, "商工会を指定してください", "Name the chamber"),
    "no_payer": (
        409,
        "振込元（依頼人）の口座が登録されていません",
        "The paying city or chamber has no registered bank account",
    ),
    "payout_invalid": (409, "振込ファイルを作れません", "The transfer file cannot be written"),
    "payout_precheck": (
        409,
        "振込前の確認で対応が必要な支払先があります（口座名義を直すか、提案の形を承認してください）",
        "The pre-check found payees to resolve first (fix the record, or accept the proposed name)",
    ),
    "name_not_found": (404, "その口座名義の指摘はありません", "The pre-check has no such finding"),
    "name_not_acceptable": (
        409,
        "この名義は承認できません（提案と異なるか、口座情報を直す必要があります）",
        "This name cannot be accepted (not the proposed form, or the record must be fixed)",
    ),
    "unknown_payee": (404, "支払先が見つかりません", "Unknown payee"),
    "payout_not_approved": (
        409,
        "支払承認済みの請求がないため振込ファイルは作れません（市の支払承認の後にお試しください）",
        "No claim is approved for payment yet: the transfer file is written after the city approves",
    ),
    "payee_without_account": (
        409,
        "口座が登録されていない支払先があります（口座を登録してから振込ファイルを作ってください）",
        "Payees approved for payment have no bank account registered: register them, then write the file",
    ),
    "transfer_date_past": (
        422,
        "振込指定日は明日以降の銀行営業日にしてください",
        "The transfer date must be a bank business day after today",
    ),
    "transfer_date_closed": (
        422,
        "振込指定日が銀行休業日です（土日・祝日・12/31〜1/3）",
        "The transfer date is not a bank business day (weekend, national holiday or 12/31-1/3)",
    ),
    "ranking_invalid": (422, "ランキングの条件が正しくありません", "The ranking parameters are not valid"),
}


class SettlementError(ApiError):
    """A settlement refusal (see :data:`CATALOG`)."""

    catalog = CATALOG
