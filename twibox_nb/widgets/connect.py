"""Connect: the reference product's "Activate Twilio" window, notebook-style.

Account SID, API key SID and API key secret (a password field), region and edge, or the
embedded sandbox. "Activate" builds the connection with :func:`twibox_nb.connect`, runs
``conn.test()`` and says in plain words what happened.

The secret never stays in widget state: the password field is emptied as soon as Activate has
read it (success or not), so neither the frontend's model nor a notebook saved with widget state
holds it; it lives on only inside the :class:`~twibox_nb.fetch.connection.Connection` (a ``Secret``
that never shows itself). Values taken from ``TWILIO_*`` environment variables are never copied
into a widget: the fields stay empty and their placeholders say, masked, what will be used.

>>> w = ConnectWidget(sandbox=True)
>>> w.activate_button.click()
>>> w.connection.is_sandbox, w.diagnosis.ok
(True, True)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

import httpx
import ipywidgets as widgets

from .._exceptions import CredentialsError
from ..builder.state import mask_identifier
from ..fetch.connection import (
    ACCOUNT_SID,
    API_KEY_SID,
    AUTH_TOKEN,
    LABELS,
    Connection,
    MissingCredentialsError,
    Secret,
    connect,
)
from ..fetch.diagnose import Diagnosis
from ..model.secrets import shape_of
from ._common import ERROR_STYLE, MUTED, NOTE_STYLE, OK_STYLE, Busy, ErrorArea, classed, esc, guard, link

if TYPE_CHECKING:
    from ..sandbox import Sandbox

REGIONS = ("us1", "ie1", "au1")
EDGES = ("ashburn", "dublin", "frankfurt", "sao-paulo", "singapore", "sydney", "tokyo", "umatilla")
KEYS_HELP = "https://www.twilio.com/docs/iam/api-keys"
LABEL = {"description_width": "130px"}
CONSOLE_KEYS = "the Twilio Console (Account › API keys & tokens)"
ACCOUNT_INFO = "the Twilio Console's Account Info"
# What to do when something is missing, in the form's words (connect() words it for Python callers).
MISSING = {
    "account_sid": f"Enter your Account SID (AC…, from {ACCOUNT_INFO}), or switch on the sandbox.",
    "api_secret": "Enter the API Key Secret of key {key}: Twilio shows it once, when the key is created; if it "
    f"is lost, create a new key in {CONSOLE_KEYS}.",
    "credentials": f"Enter an API Key SID (SK…) and its secret from {CONSOLE_KEYS}, or leave API Key SID empty "
    f"and enter your auth token (from {ACCOUNT_INFO}) as the secret, or switch on the sandbox.",
}


def _wide(width: str = "460px") -> widgets.Layout:
    return widgets.Layout(width=width)


def _host_part(  # noqa: PLR0917  (one call per row: label, choices, variable, default, CSS class)
    label: str, options: Iterable[str], env: Mapping[str, str], name: str, fallback: str, css: str
) -> widgets.Combobox:
    """The region or edge box: Twilio's known values offered, the environment's shown as a placeholder."""
    return classed(
        widgets.Combobox(
            description=label,
            options=list(options),
            placeholder=_placeholder(env, name, env.get(name, ""), fallback),
            style=LABEL,
            layout=_wide("300px"),
        ),
        css,
    )


def _identifier(label: str, env: Mapping[str, str], name: str, prefix: str, css: str) -> widgets.Text:
    """An Account or API Key SID box; the environment's value is shown masked as its placeholder."""
    shown = mask_identifier(env.get(name, ""))
    return classed(
        widgets.Text(
            description=label,
            placeholder=_placeholder(env, name, shown, f"{prefix} followed by 32 hex"),
            style=LABEL,
            layout=_wide(),
        ),
        css,
    )


def _placeholder(env: Mapping[str, str], name: str, shown: str, fallback: str) -> str:
    return f"{shown} (from {name})" if env.get(name) else fallback


class ConnectWidget(widgets.VBox):
    """Credentials (or the sandbox) → a tested :class:`~twibox_nb.fetch.connection.Connection`.

    ``sandbox=True`` starts with the sandbox switch on; a :class:`~twibox_nb.sandbox.Sandbox`
    instance is what the switch then uses (tests pass one with a frozen clock). ``env`` replaces
    ``os.environ``; ``transport`` replaces the network for real credentials (an httpx transport).
    ``on_connect(conn)`` callbacks run after a successful test; ``widget.connection`` holds it.
    """

    def __init__(
        self,
        *,
        sandbox: bool | Sandbox = False,
        env: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        on_connect: Callable[[Connection], None] | None = None,
    ) -> None:
        self.env = dict(os.environ if env is None else env)
        self.transport = transport
        self._sandbox = sandbox if sandbox is not True and sandbox is not False else None
        self._kept_secret: Secret | None = None  # after a failed Activate: in kernel memory only
        self._callbacks: list[Callable[[Connection], None]] = [on_connect] if on_connect else []
        self.connection: Connection | None = None
        self.diagnosis: Diagnosis | None = None

        env_ = self.env
        self.title = widgets.HTML(
            "<b style='font-size:1.1em'>Connect to Twilio</b> "
            f"<span style='{NOTE_STYLE}'>— any credentials that can read work: a Main or Standard API key "
            "(a Standard key reads everything but the account's own record), a Restricted key with read "
            f"permissions, or the auth token ({link(KEYS_HELP, 'how to create a key')})</span>"
        )
        self.sandbox_switch = classed(
            widgets.Checkbox(
                value=sandbox is not False,
                description="Use the sandbox: demo data, no account needed",
                indent=False,
                layout=widgets.Layout(width="auto"),
            ),
            "connect-sandbox",
        )
        self.account_sid = _identifier("Account SID", env_, "TWILIO_ACCOUNT_SID", "AC", "connect-account-sid")
        self.api_key = _identifier("API Key SID", env_, "TWILIO_API_KEY", "SK", "connect-api-key")
        self.api_secret = classed(
            widgets.Password(description="API Key Secret", style=LABEL, layout=_wide()), "connect-api-secret"
        )
        self.region = _host_part("Region", REGIONS, env_, "TWILIO_REGION", "default (us1)", "connect-region")
        self.edge = _host_part("Edge", EDGES, env_, "TWILIO_EDGE", "default", "connect-edge")
        self.activate_button = classed(
            widgets.Button(description="Activate", button_style="success", icon="plug"), "connect-activate"
        )
        self.working = classed(widgets.HTML(f"<span style='{NOTE_STYLE}'>Testing the connection…</span>"), "busy")
        self.working.layout.display = "none"
        # One test at a time: a click during it, or sent before it ended (queued), is ignored.
        self.busy = Busy(self.working, lambda: [self.activate_button, self.sandbox_switch, *self.credentials.children])
        self.status = classed(widgets.HTML(), "connect-status")
        self.error = ErrorArea("connect-error")

        self._secret_placeholder()
        self.credentials = widgets.VBox([self.account_sid, self.api_key, self.api_secret, self.region, self.edge])
        on_error = guard(self.error.show)
        self.activate_button.on_click(on_error(self._activate))
        self.sandbox_switch.observe(on_error(self._switched), names="value")
        super().__init__(
            [
                self.title,
                self.sandbox_switch,
                self.credentials,
                widgets.HBox([self.activate_button, self.working]),
                self.status,
                self.error,
            ]
        )
        classed(self, "connect")
        self._switched()

    # --- behaviour ------------------------------------------------------------------------------
    def on_connect(self, callback: Callable[[Connection], None]) -> None:
        """Call ``callback(conn)`` after each successful Activate."""
        self._callbacks.append(callback)

    def _secret_placeholder(self) -> None:
        env = self.env
        if self._kept_secret is not None:
            text = "kept from the last try (hidden); type to replace"
        elif env.get("TWILIO_API_SECRET"):
            text = "•••••••• (from TWILIO_API_SECRET)"
        elif env.get("TWILIO_AUTH_TOKEN"):
            text = "•••••••• (auth token from TWILIO_AUTH_TOKEN)"
        else:
            text = "shown once when the key is created"
        self.api_secret.placeholder = text

    def _switched(self, _change=None) -> None:
        on = self.sandbox_switch.value
        for field in (self.account_sid, self.api_key, self.api_secret, self.region, self.edge):
            field.disabled = on
        self.credentials.layout.display = "none" if on else None

    def _take_secret(self) -> Secret | None:
        """Read the password field and empty it at once: the secret leaves widget state here."""
        typed = self.api_secret.value
        self.api_secret.value = ""
        if typed:
            self._kept_secret = Secret(typed.strip())
        return self._kept_secret

    def _build(self) -> Connection:
        if self.sandbox_switch.value:
            self.api_secret.value = ""  # never keep a secret typed before switching to the sandbox
            return connect(sandbox=self._sandbox or True)
        secret = self._take_secret()
        typed = secret.reveal() if secret is not None else None
        sid, key = self.account_sid.value.strip() or None, self.api_key.value.strip() or None
        region, edge = self.region.value.strip() or None, self.edge.value.strip() or None
        # With an API key (typed or in the environment) the secret is the key's; without, an auth token.
        has_key = bool(key or self.env.get("TWILIO_API_KEY"))
        _check_typed(sid, key, None if has_key else typed, region, edge)
        try:
            return connect(
                sid,
                key,
                typed if has_key else None,
                auth_token=None if has_key else typed,
                region=region,
                edge=edge,
                transport=self.transport,
                env=self.env,
            )
        except MissingCredentialsError as exc:
            named = mask_identifier(key or self.env.get("TWILIO_API_KEY", ""))
            raise CredentialsError(MISSING[exc.missing].format(key=named)) from None
        except CredentialsError as exc:  # a value from the environment: named by its variable
            raise CredentialsError(
                f"{exc} Type the right value in its field (it takes precedence), or fix the variable."
            ) from None

    def _activate(self, _button=None) -> None:
        if not self.busy.accepts():
            return  # Activate is disabled while testing; a click that still arrives does nothing
        self.error.clear()
        self.status.value = ""
        self.connection = None
        try:
            conn = self._build()
        finally:
            self._secret_placeholder()
        with self.busy("Testing the connection…"):
            diagnosis = conn.test(words="form")
        self.diagnosis = diagnosis
        self.status.value = _diagnosis_html(diagnosis)
        if diagnosis.ok:
            self._kept_secret = None  # the connection holds it now
            self._secret_placeholder()
            self.connection = conn
            for callback in self._callbacks:
                callback(conn)


def _check_typed(sid: str | None, key: str | None, token: str | None, region: str | None, edge: str | None) -> None:
    """Refuse a malformed value typed in a field, saying what that field takes (a secret is never shown)."""
    if sid and not ACCOUNT_SID.match(sid):
        raise CredentialsError(
            f"{shape_of(sid)} is not an Account SID: it is AC followed by 32 hex digits; copy it from {ACCOUNT_INFO}."
        )
    if key and not API_KEY_SID.match(key):
        if ACCOUNT_SID.match(key):
            raise CredentialsError(
                "The API Key SID field holds an Account SID: an API Key SID starts with SK; find it in "
                f"{CONSOLE_KEYS}, or leave the field empty to use your auth token as the secret."
            )
        raise CredentialsError(
            f"{shape_of(key)} is not an API Key SID: it is SK followed by 32 hex digits, from {CONSOLE_KEYS}."
        )
    if token and not AUTH_TOKEN.match(token):
        raise CredentialsError(
            "Without an API Key SID the secret field takes your auth token (32 hex digits, from "
            f"{ACCOUNT_INFO}); if this is an API key's secret, enter the key's SID (SK…) too. (The value is not shown.)"
        )
    for kind, value, choices in (("Region", region, REGIONS), ("Edge", edge, EDGES)):
        if value and not LABELS[kind.lower()][0].match(value.lower()):
            raise CredentialsError(
                f"{kind} {shape_of(value)} is not a Twilio {kind.lower()} name: choose one of {', '.join(choices)}, "
                "or leave it empty for the default."
            )


def _diagnosis_html(d: Diagnosis) -> str:
    took = f" <span style='color:{MUTED}'>({d.elapsed:.2f} s)</span>" if d.elapsed is not None else ""
    if d.ok:
        return f"<div style='{OK_STYLE}'>✓ {esc(d.message)}{took}</div>"
    detail = []
    if d.status is not None:
        detail.append(f"HTTP {d.status}")
    if d.code is not None:
        detail.append(f"Twilio error {d.code}")
    more = f" {link(d.more_info, 'What this error means')}" if d.more_info else ""
    head = f"Not connected ({', '.join(detail)})" if detail else "Not connected"
    return f"<div style='{ERROR_STYLE}'><b>✗ {esc(head)}.</b> {esc(d.message)}{more}{took}</div>"
