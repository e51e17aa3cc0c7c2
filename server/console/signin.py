"""The sign-in screen (サインイン): a browser session of the console asks the clerk for a token first.

The token typed is checked at the server (:meth:`SettleClient.sign_in`, which logs the attempt
with the browser's address) and then held only by this session's client, in this process. The
screen is handed its client and the browser's address; it dismisses itself with the session.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Static

from points.settlement_wire import ConsoleSession
from server.console.client import ConsoleError, SettleClient
from server.console.words import N_, _

PROMPT = N_("Enter your clerk token (from your administrator; it is not shown)")


class SignInScreen(Screen[ConsoleSession]):
    """Asks for the clerk's token and checks it; nothing of the console shows until it succeeds.

    Args:
        client: the session's client, holding no token yet.
        remote: the browser's address, as the serving process saw it (logged by the server).
        notice: why the screen is shown again, e.g. the session ended for inactivity.
    """

    DEFAULT_CSS = """
    SignInScreen { align: center middle; }
    SignInScreen #signin-box { width: 90; height: auto; border: round $primary; padding: 1 2; }
    SignInScreen #signin-box Label, SignInScreen #signin-box Static { width: 100%; margin: 0 0 1 0; }
    SignInScreen #token { margin: 0 0 1 0; }
    SignInScreen #signin-status.error { color: $error; }
    SignInScreen #signin-notice { color: $warning; }
    """

    def __init__(self, client: SettleClient, remote: str, notice: str = "") -> None:
        super().__init__()
        self.client = client
        self.remote = remote
        self.notice = notice

    def compose(self) -> ComposeResult:
        """The prompt, the token field and the sign-in button."""
        yield Header()
        with Vertical(id="signin-box"):
            yield Label(_("Sign in"), id="signin-title")
            yield Static(self.notice, id="signin-notice")
            yield Static(_(PROMPT))
            yield Input(password=True, id="token", placeholder="mk_...", max_length=200)
            with Center():
                yield Button(_("Sign in"), id="signin", variant="primary")
            yield Static("", id="signin-status")
        yield Footer()

    def on_mount(self) -> None:
        """Put the cursor in the token field."""
        self.query_one("#token", Input).focus()

    def say(self, text: str, error: bool = False) -> None:
        """Show a message under the button."""
        status = self.query_one("#signin-status", Static)
        status.update(text)
        status.set_class(error, "error")

    @on(Button.Pressed, "#signin")
    @on(Input.Submitted, "#token")
    async def sign_in(self) -> None:
        """Check the token at the server; on success hand the session to the app."""
        field = self.query_one("#token", Input)
        token = field.value.strip()
        field.value = ""  # the token leaves the screen at once, right or wrong
        if not token:
            self.say(_("Enter a token"), error=True)
            return
        self.say(_("Checking…"))
        try:
            session = await self.client.sign_in(token, self.remote)
        except ConsoleError as error:
            self.say(str(error), error=True)
            return
        self.dismiss(session)
