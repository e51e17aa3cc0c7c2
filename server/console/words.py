"""The console's words, one language at a time: Japanese by default, English with ``--language en``.

The same approach as the counter (:mod:`pos.i18n`): every word on screen goes through :func:`_`
with an English message id, :func:`N_` marks ids translated later (key bindings, tables of
names), and the language is chosen once at start (:func:`set_language`). The console may not
import the counter (an import contract), and ``points`` reads no files, so the console's catalog
is this module's :data:`JAPANESE` table rather than a second gettext loader: English is the id
itself, Japanese its entry. A test checks every id used in ``server/console`` has its entry.

A refusal from the server is put into the console's own words by its stable code
(:data:`REFUSALS`), like the counter's, with what it is about (the body's ``detail``); a code the
console does not know is shown with the server's own (bilingual) message.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "ja"

_language = DEFAULT_LANGUAGE


def set_language(language: str) -> None:
    """Show every later word in ``language`` (``ja`` or ``en``).

    Raises:
        ValueError: a language the console has no words for.
    """
    global _language
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r}: one of {', '.join(LANGUAGES)}")
    _language = language


def language() -> str:
    """The language the console speaks now."""
    return _language


def _(message: str, /, **params: object) -> str:
    """``message`` (an English id) in the current language, its ``{fields}`` filled in."""
    text = JAPANESE.get(message, message) if _language == "ja" else message
    return text.format(**params) if params else text


def N_(message: str) -> str:
    """Mark a message id that is translated where it is shown (a key binding, a table of names)."""
    return message


def translated(bindings: Mapping[str, Any]) -> dict[str, Any]:
    """Key bindings (Textual's ``ActiveBinding``) with their descriptions in the current language.

    Typed loosely so that the words (which the HTTP client uses too) never import ``textual``.
    """
    return {
        key: active._replace(binding=dataclasses.replace(active.binding, description=_(description)))
        if (description := active.binding.description)
        else active
        for key, active in bindings.items()
    }


# Names for the codes the server sends -----------------------------------------------------

CLAIM_STATES = {
    "submitted": N_("Submitted"),
    "approved": N_("Approved by the chamber"),
    "returned": N_("Returned"),
    "payment_approved": N_("Payment approved"),
}
PERIOD_STATES = {"open": N_("Open"), "closed": N_("Closed")}
LINE_KINDS = {
    "redeem_points": N_("Points used"),
    "redeem_ticket": N_("Point ticket"),
    "void": N_("Void"),
    "return_points": N_("Goods returned"),
    # An online shop's order lines (issue 15), shown apart from the counter's.
    "order_points": N_("Online sale"),
    "order_void": N_("Online order cancelled"),
    "order_return": N_("Online refund"),
}
#: Line kinds that take points back from the claim (shown negative).
TAKEN_BACK = frozenset({"void", "return_points", "order_void", "order_return"})
PAYOUTS = {"city_direct": N_("City pays directly"), "via_chamber": N_("Via the chamber")}
NAME_FIELDS = {"holder": N_("Holder name"), "requester": N_("Requester name"), "account": N_("Account")}


def name_of(table: Mapping[str, str], code: str) -> str:
    """The name of ``code`` in ``table`` in the current language (a code the table lacks as it is)."""
    return _(table[code]) if code in table else code


def one_language(detail: str) -> str:
    """A pre-check finding's ``detail`` (each reason ``ja / en``, joined by ``; ``) in one language."""
    parts = [part.partition(" / ") for part in detail.split("; ")]
    return "; ".join(ja if _language == "ja" or not sep else en for ja, sep, en in parts)


# Refusals -----------------------------------------------------------------------------------

#: Server code → the console's words for it. Codes not here are shown in the server's message.
REFUSALS = {
    "unauthorized": N_("The token is not accepted: sign in again."),
    "forbidden": N_("Your role may not do that (the server refused it)."),
    "not_found": N_("The server does not know this."),
    "invalid_request": N_("The server could not read the request."),
    "internal_error": N_("The server had a problem. Try again; if it stays, tell the administrator."),
    "database_unavailable": N_("The server's database is unreachable for now. Try again shortly."),
    "bad_period": N_("That is not a period name (2026-11, 2026-11a/b or 2026-W48)."),
    "period_not_closed": N_("This period is not closed yet."),
    "period_not_started": N_("This period has not started yet, so it cannot be closed."),
    "period_paid": N_("Claims of this period are approved for payment: it cannot be reopened."),
    "reason_required": N_("Enter a reason."),
    "claim_not_found": N_("The server knows no such claim."),
    "claim_state": N_("The claim's state does not allow that (already approved or returned?)."),
    "no_chamber": N_("Name the chamber."),
    "no_payer": N_("The paying city or chamber has no bank account registered (ask the administrator)."),
    "payout_invalid": N_("The transfer file cannot be written."),
    "payout_precheck": N_("Some account names must be fixed or accepted first (Names tab)."),
    "payout_not_approved": N_(
        "No claim is approved for payment yet: the file is written after the city approves."
    ),
    "payee_without_account": N_("No transfer file: these payees have no bank account registered: {payees}."),
    "transfer_date_past": N_("The transfer date must be a bank business day after today."),
    "transfer_date_closed": N_("Banks are closed on that transfer date (weekend, holiday or 12/31-1/3)."),
    "name_not_found": N_("The pre-check has no such name."),
    "name_not_acceptable": N_("This name cannot be accepted: fix the payee's record."),
    "unknown_payee": N_("The server knows no such payee."),
    "signin_failed": N_("The token is wrong or has been revoked."),
    "signin_role": N_("This token cannot use the settlement console (chamber, city or admin only)."),
    "signin_paused": N_("Too many failed sign-ins from here: sign-in is paused."),
    "unreachable": N_("Cannot reach the server ({why})."),
    "bad_answer": N_("Unexpected answer from the server ({why})."),
}


def refusal(code: str, message: str, detail: Sequence[Mapping[str, object]] = ()) -> str:
    """A refusal in the console's words: what happened, what it is about, and its code."""
    if code not in REFUSALS:
        return f"{message} ({code})" if code not in message else message
    if code == "payee_without_account":
        payees = "、" if _language == "ja" else ", "
        named = payees.join(f"{item.get('payee_name') or item.get('payee_id')}" for item in detail)
        return f"{_(REFUSALS[code], payees=named)} ({code})"
    # The server gives a detail text in ja and en apart when it can; "text" holds both otherwise.
    about = "; ".join(str(item.get(_language) or item["text"]) for item in detail if "text" in item)
    why = about or "-"
    text = _(REFUSALS[code], why=why)
    if about and "{why}" not in REFUSALS[code]:
        text = f"{text} — {about}"
    return f"{text} ({code})"


JAPANESE: dict[str, str] = {
    # Title, keys and the toolbar
    "mykey settlement console": "mykey 精算コンソール",
    "Reload": "再読込",
    "Approve": "承認",
    "Zengin": "全銀",
    "Quit": "終了",
    "Period field": "期間へ",
    "Period": "期間",
    "Show": "表示",
    "Close": "締める",
    "Summary CSV": "集計CSV",
    "Sign out": "サインアウト",
    # Tabs, buttons and columns
    "Claims": "請求",
    "Reconciliation": "照合",
    "Periods": "期間一覧",
    "Names": "名義",
    "Reason to return": "差し戻し理由",
    "Return": "差し戻し",
    "Statement CSV": "明細CSV",
    "Accept the proposed name": "提案を承認",
    "Merchant": "加盟店",
    "Program": "事業",
    "City": "自治体",
    "Gross": "請求額",
    "Fee": "手数料",
    "Net": "支払額",
    "Disputed": "係争",
    "State": "状態",
    "Sale": "取引",
    "Kind": "種類",
    "Amount": "金額",
    "Accepted at": "受付",
    "Receipt": "レシート",
    "Chamber": "商工会",
    "Cutoff": "締め日時",
    "Number of claims": "請求数",
    "Payee": "支払先",
    "Field": "項目",
    "Registered name": "登録名義",
    "Proposed": "提案",
    "Why": "理由",
    # Names of codes
    "Submitted": "審査待ち",
    "Approved by the chamber": "商工会承認",
    "Returned": "差し戻し",
    "Payment approved": "支払承認",
    "Open": "未締め",
    "Closed": "締め済み",
    "Points used": "ポイント利用",
    "Point ticket": "ポイント券",
    "Void": "取消",
    "Goods returned": "返品",
    "Online sales": "オンライン販売",
    "Online fee": "手数料（オンライン）",
    "Online sale": "オンライン販売",
    "Online order cancelled": "オンライン注文の取消",
    "Online refund": "オンライン販売の返金",
    "City pays directly": "市から直接",
    "Via the chamber": "商工会経由",
    "Holder name": "受取人名",
    "Requester name": "依頼人名",
    "Account": "口座",
    "Accepted": "承認済み",
    "To resolve": "要対応",
    # Reconciliation
    "Claims gross": "請求合計",
    "Receivables moved": "加盟店債権の動き",
    "Net to pay": "支払承認済み",
    "Fees kept (approved)": "手数料（承認分）",
    "Pending": "未承認",
    "Uncounted transfers": "未計上の取引",
    "Verdict": "判定",
    "Balanced": "一致",
    "NOT BALANCED": "不一致",
    # Messages
    "{period}: {n} claims": "{period}: 請求 {n} 件",
    "Cancelled": "取り消しました",
    "Select a claim": "請求を選んでください",
    "Approve {amount} yen of {program} for {shop}?": "{shop} の {program} {amount} 円を承認しますか？",
    "Approve the payment of {amount} yen of {program} to {shop}?": (
        "{shop} への {program} {amount} 円の支払いを承認しますか？"
    ),
    "Partial approval: after this one, {paid} of the period's {total} claims are approved for payment."
    " The other {left} ({amount} yen) are not in this period's transfer file until they are approved.": (
        "一部だけの承認です: この承認で、この期間の請求 {total} 件のうち支払承認済みは {paid} 件になります。"
        "残りの {left} 件（{amount} 円）は、承認されるまでこの期間の振込ファイルに入りません。"
    ),
    "Write a transfer file that pays only part of the period?": (
        "この期間の一部だけを支払う振込ファイルを作りますか？"
    ),
    "Partial payout: {paid} of the period's {total} claims are approved for payment; the other {left}"
    " ({amount} yen) are not in this file.": (
        "一部だけの振込です: この期間の請求 {total} 件のうち支払承認済みは {paid} 件です。"
        "残りの {left} 件（{amount} 円）はこのファイルに入りません。"
    ),
    "Not closed yet by {chambers}: their claims for the period are not in this file.": (
        "この期間をまだ締めていない商工会があります: {chambers}。その請求はこのファイルに入りません。"
    ),
    "{claim}: {state}": "{claim}: {state}",
    "Select a claim and enter a reason": "請求を選び、理由を入力してください",
    "Return the claim of {shop}?\nReason: {reason}": "{shop} の請求を差し戻しますか？\n理由: {reason}",
    "Close {period}? Sales after the close go into the next period.": (
        "{period} を締めますか？ 締めた後の取引は次の期間に入ります。"
    ),
    "Warning: this period has not ended yet (last day {last}). Sales until then will not be in this"
    " period's claims if you close now.": (
        "注意: この期間はまだ終わっていません（最終日 {last}）。今締めると、"
        "最終日までの残りの取引はこの期間の請求に入りません。"
    ),
    "{period}: closed — {n} claims, {amount} yen": "{period}: 締めました — 請求 {n} 件, {amount} 円",
    "{period}: already closed — {n} claims, {amount} yen": (
        "{period}: 締め済みです — 請求 {n} 件, {amount} 円"
    ),
    "{n} account names to resolve first: fix or accept them on the Names tab": (
        "口座名義の確認が必要です: {n} 件 — 「名義」タブで直すか承認してください"
    ),
    "Saved the Zengin file: {path} ({n} records)": "全銀ファイルを保存しました: {path}（{n} 件）",
    "Saved the summary: {path} (+ .xlsx)": "集計CSVを保存しました: {path}（+ .xlsx）",
    "Saved the statement: {path} (+ .xlsx)": "明細を保存しました: {path}（+ .xlsx）",
    "Select a name with a proposal": "提案のある名義を選んでください",
    "{payee}: accepted 「{name}」": "{payee}: 「{name}」を承認しました",
    "Signed out after {minutes} minutes without activity": (
        "操作のないまま {minutes} 分たったため、サインアウトしました"
    ),
    "Signed out": "サインアウトしました",
    "Yes": "はい",
    "No": "いいえ",
    # The command line (mykey-settle)
    "Settlement console": "精算コンソール",
    "transfer date of Zengin files": "全銀ファイルの振込日",
    "serve takes no token: each browser signs in for itself": (
        "serve はトークンを受け取りません。各ブラウザでサインインします"
    ),
    "$MYKEY_SETTLE_TOKEN is ignored: each browser signs in for itself": (
        "$MYKEY_SETTLE_TOKEN は使いません（各ブラウザでサインインします）"
    ),
    "run (the default): the console in this terminal; serve: the console for browsers"
    "; session: one browser's console (started by serve)": (
        "run（既定）: この端末でコンソールを開く。serve: ブラウザ向けに提供する。"
        "session: ブラウザ1つ分のコンソール（serve が起動する）"
    ),
    "run: a file holding the clerk's token": "ファイルから担当者のトークンを読む（run）",
    "run: the clerk's token (prefer --token-file or $MYKEY_SETTLE_TOKEN)": (
        "担当者のトークン（run。--token-file か $MYKEY_SETTLE_TOKEN を推奨）"
    ),
    "the period to open (default: last month)": "開く期間（既定: 先月）",
    "where downloads go": "ダウンロードの保存先",
    "ja (default) or en": "ja（既定）か en",
    "serve: the address to listen on": "待ち受けるアドレス（serve）",
    "serve: the port (0: any free port)": "ポート（serve。0 は空いているポート）",
    "serve: TLS certificate (PEM)": "TLS 証明書 PEM（serve）",
    "serve: TLS private key (PEM)": "TLS 秘密鍵 PEM（serve）",
    "sign out after this many minutes without a key or click (serve: default {minutes})": (
        "キー操作もクリックもないまま、この分数がたつとサインアウト（serve の既定 {minutes}）"
    ),
    "Only users of this computer can open it; each browser signs in with its own token": (
        "このコンピューターの利用者だけが開けます（各ブラウザでサインインが必要です）"
    ),
    "Anyone on the network who can reach {host} can open the sign-in screen ({tls});"
    " each browser signs in with its own token": (
        "ネットワーク上でこのアドレス（{host}）に届く誰もがサインイン画面を開けます"
        "（{tls}、各ブラウザでサインインが必要です）"
    ),
    "TLS": "TLS で暗号化",
    "no TLS": "暗号化なし",
    "Give both --tls-cert and --tls-key": "--tls-cert と --tls-key は両方指定してください",
    "Listening on {host} needs TLS (--tls-cert, --tls-key); without it only loopback": (
        "{host} で公開するには TLS が必要です（--tls-cert, --tls-key）。TLS なしではループバックのみです"
    ),
    # Sign-in
    "Sign in": "サインイン",
    "Enter your clerk token (from your administrator; it is not shown)": (
        "担当者のトークンを入力してください（管理者から受け取ったもの。画面には表示されません）"
    ),
    "Enter a token": "トークンを入力してください",
    "Checking…": "確認しています…",
    # Refusals
    "The token is not accepted: sign in again.": "トークンが受け付けられません。サインインし直してください。",
    "Your role may not do that (the server refused it).": (
        "この操作の権限がありません（サーバーが拒否しました）。"
    ),
    "The server does not know this.": "サーバーに見つかりません。",
    "The server could not read the request.": "サーバーがリクエストを読めませんでした。",
    "The server had a problem. Try again; if it stays, tell the administrator.": (
        "サーバーで問題が起きました。もう一度お試しください。続く場合は管理者に連絡してください。"
    ),
    "The server's database is unreachable for now. Try again shortly.": (
        "サーバーのデータベースに接続できません。少し待ってからお試しください。"
    ),
    "That is not a period name (2026-11, 2026-11a/b or 2026-W48).": (
        "期間の指定が正しくありません（2026-11、2026-11a/b、2026-W48 の形）。"
    ),
    "This period is not closed yet.": "この期間はまだ締められていません。",
    "This period has not started yet, so it cannot be closed.": (
        "この期間はまだ始まっていないため締められません。"
    ),
    "Claims of this period are approved for payment: it cannot be reopened.": (
        "支払承認済みの請求があるため、この期間は再開できません。"
    ),
    "Enter a reason.": "理由を入力してください。",
    "The server knows no such claim.": "請求が見つかりません。",
    "The claim's state does not allow that (already approved or returned?).": (
        "この請求の状態ではその操作はできません（承認済みか差し戻し済みでは？）。"
    ),
    "Name the chamber.": "商工会を指定してください。",
    "The paying city or chamber has no bank account registered (ask the administrator).": (
        "振込元（依頼人）の口座が登録されていません（管理者に依頼してください）。"
    ),
    "The transfer file cannot be written.": "振込ファイルを作れません。",
    "Some account names must be fixed or accepted first (Names tab).": (
        "先に口座名義を直すか承認してください（「名義」タブ）。"
    ),
    "No claim is approved for payment yet: the file is written after the city approves.": (
        "支払承認済みの請求がないため振込ファイルは作れません（市の支払承認の後にお試しください）。"
    ),
    "No transfer file: these payees have no bank account registered: {payees}.": (
        "口座が登録されていない支払先があるため、振込ファイルは作れません: {payees}。"
        "口座を登録してからお試しください。"
    ),
    "The transfer date must be a bank business day after today.": (
        "振込指定日は明日以降の銀行営業日にしてください。"
    ),
    "Banks are closed on that transfer date (weekend, holiday or 12/31-1/3).": (
        "振込指定日が銀行休業日です（土日・祝日・12/31〜1/3）。"
    ),
    "The pre-check has no such name.": "その口座名義の指摘はありません。",
    "This name cannot be accepted: fix the payee's record.": (
        "この名義は承認できません。支払先の口座情報を直してください。"
    ),
    "The server knows no such payee.": "支払先が見つかりません。",
    "The token is wrong or has been revoked.": "トークンが正しくないか、無効にされています。",
    "This token cannot use the settlement console (chamber, city or admin only).": (
        "このトークンでは精算コンソールを使えません（商工会・自治体・管理者のみ）。"
    ),
    "Too many failed sign-ins from here: sign-in is paused.": (
        "サインインの失敗が続いたため、この端末からのサインインを一時停止しています。"
    ),
    "Cannot reach the server ({why}).": "サーバーに接続できません（{why}）。",
    "Unexpected answer from the server ({why}).": "サーバーの応答を読めません（{why}）。",
}
