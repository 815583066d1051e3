"""Turn generated rows into the JSON records Twilio sends, key for key.

Key sets follow the full examples in Twilio's OpenAPI specs (the fidelity tests compare them).
Dates are RFC 2822 in the 2010 API and ISO 8601 in the product APIs; numbers that Twilio sends as
strings (price, num_segments, duration …) are strings here too.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from .account import API_VERSION, Account
from .generator import (
    ALERT_KINDS,
    CALL_DIRECTIONS,
    CALL_STATUSES,
    INBOUND_BODIES,
    MESSAGE_DIRECTIONS,
    MESSAGE_ERRORS,
    MESSAGE_STATUSES,
    OUTBOUND_BODIES,
    AlertDay,
    CallDay,
    MessageDay,
)
from .usage import CATEGORY_BY_NAME, SUBRESOURCES, Totals, format_price

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


_MINUTES = tuple(f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60))
_SECONDS = tuple(f"{s:02d} +0000" for s in range(60))
_DAY_PREFIXES: dict[int, str] = {}  # days since 1970 -> "Fri, 24 May 2019 " (a sandbox spans ~400)


def _day_prefix(day: int) -> str:
    d = date.fromordinal(day + _EPOCH_ORDINAL)
    text = f"{_WEEKDAYS[d.weekday()]}, {d.day:02d} {_MONTHS[d.month - 1]} {d.year} "
    if len(_DAY_PREFIXES) < 100_000:
        _DAY_PREFIXES[day] = text
    return text


def rfc2822(ts: int) -> str:
    """``"Fri, 24 May 2019 17:44:50 +0000"`` (locale-independent, unlike strftime).

    Called three times per record served, so built from cached pieces rather than a datetime.

    >>> rfc2822(1558719890), rfc2822(-1)
    ('Fri, 24 May 2019 17:44:50 +0000', 'Wed, 31 Dec 1969 23:59:59 +0000')
    """
    day, second = divmod(int(ts), 86_400)
    prefix = _DAY_PREFIXES.get(day) or _day_prefix(day)
    return prefix + _MINUTES[second // 60] + _SECONDS[second % 60]


def iso8601(ts: int | datetime) -> str:
    """``"2015-07-30T20:00:00Z"``, as the product APIs send dates."""
    d = ts if isinstance(ts, datetime) else datetime.fromtimestamp(int(ts), tz=timezone.utc)
    return d.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def twilio_price(units: int) -> str:
    """A message or call price as Twilio sends it: ``"-0.00790"``."""
    return format_price(int(units))


def us_format(number: str) -> str:
    """``+14155550100`` -> ``(415) 555-0100``; other countries stay in E.164."""
    if number.startswith("+1") and len(number) == 12:
        return f"({number[2:5]}) {number[5:8]}-{number[8:]}"
    return number


def account_path(account: Account) -> str:
    return f"/{API_VERSION}/Accounts/{account.sid}"


def message(account: Account, day: MessageDay, i: int) -> dict[str, Any]:
    base = f"{account_path(account)}/Messages/{day.sid[i]}"
    ts = int(day.ts[i])
    direction = MESSAGE_DIRECTIONS[day.direction[i]]
    inbound = direction == "inbound"
    ours = account.numbers[day.ours[i]].phone_number
    customer = account.customer_number(int(day.customer[i]))
    template = (INBOUND_BODIES if inbound else OUTBOUND_BODIES)[day.body[i]]
    error = int(day.error_code[i])
    service = int(day.service[i])
    return {
        "account_sid": account.sid,
        "api_version": API_VERSION,
        "body": template.format(code=int(day.code[i])),
        "date_created": rfc2822(ts - 1),
        "date_sent": rfc2822(ts),
        "date_updated": rfc2822(ts + 2),
        "direction": direction,
        "error_code": error or None,
        "error_message": MESSAGE_ERRORS[error][0] if error else None,
        "from": customer if inbound else ours,
        "messaging_service_sid": account.services[service].sid if service >= 0 else None,
        "num_media": "0",
        "num_segments": str(int(day.segments[i])),
        "price": twilio_price(day.price[i]) if day.priced[i] else None,
        "price_unit": "USD",
        "sid": day.sid[i],
        "status": MESSAGE_STATUSES[day.status[i]],
        "subresource_uris": {"media": f"{base}/Media.json", "feedback": f"{base}/Feedback.json"},
        "to": ours if inbound else customer,
        "uri": f"{base}.json",
    }


_CALL_SUBRESOURCES = (
    ("notifications", "Notifications"),
    ("recordings", "Recordings"),
    ("payments", "Payments"),
    ("events", "Events"),
    ("siprec", "Siprec"),
    ("streams", "Streams"),
    ("transcriptions", "Transcriptions"),
    ("user_defined_message_subscriptions", "UserDefinedMessageSubscriptions"),
    ("user_defined_messages", "UserDefinedMessages"),
)


def call(account: Account, day: CallDay, i: int, now: int) -> dict[str, Any]:
    base = f"{account_path(account)}/Calls/{day.sid[i]}"
    start, end = int(day.ts[i]), int(day.end[i])
    direction = CALL_DIRECTIONS[day.direction[i]]
    inbound = direction == "inbound"
    number = account.numbers[day.ours[i]]
    customer = account.customer_number(int(day.customer[i]))
    caller, callee = (customer, number.phone_number) if inbound else (number.phone_number, customer)
    in_progress = end > now
    status = "in-progress" if in_progress else CALL_STATUSES[day.status[i]]
    answered = int(day.answered_by[i])
    return {
        "account_sid": account.sid,
        "answered_by": None if answered < 0 or in_progress else ("human", "machine_start")[answered],
        "api_version": API_VERSION,
        "caller_name": None,
        "date_created": rfc2822(start - 1),
        "date_updated": rfc2822(start if in_progress else end),
        "direction": direction,
        "duration": None if in_progress else str(int(day.duration[i])),
        "end_time": None if in_progress else rfc2822(end),
        "forwarded_from": None,
        "from": caller,
        "from_formatted": us_format(caller),
        "group_sid": None,
        "parent_call_sid": None,
        "phone_number_sid": number.sid,
        "price": twilio_price(day.price[i]) if day.priced[i] and not in_progress else None,
        "price_unit": "USD",
        "sid": day.sid[i],
        "start_time": rfc2822(start),
        "status": status,
        "subresource_uris": {key: f"{base}/{name}.json" for key, name in _CALL_SUBRESOURCES},
        "to": callee,
        "to_formatted": us_format(callee),
        "trunk_sid": None,
        "uri": f"{base}.json",
        "queue_time": "0",
    }


def alert(account: Account, day: AlertDay, i: int, *, instance: bool = False) -> dict[str, Any]:
    code, level, text, method, _ = ALERT_KINDS[day.kind[i]]
    ts = int(day.ts[i])
    number = account.numbers[day.resource[i]]
    url = "https://hooks.example.com/twilio/" + ("sms" if method == "POST" else "status")
    record: dict[str, Any] = {
        "account_sid": account.sid,
        "alert_text": f"Msg={text.replace(' ', '+')}&sourceComponent=14100&ErrorCode={code}",
        "api_version": API_VERSION,
        "date_created": iso8601(ts),
        "date_generated": iso8601(ts),
        "date_updated": iso8601(ts),
        "error_code": code,
        "log_level": level,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "request_method": method,
        "request_url": url,
        "resource_sid": number.sid,
        "sid": day.sid[i],
        "url": f"https://monitor.twilio.com/v1/Alerts/{day.sid[i]}",
        "service_sid": None,
    }
    if instance:
        record.update(
            request_variables=f"To={number.phone_number.replace('+', '%2B')}&AccountSid={account.sid}",
            response_body="<html><body>Service Unavailable</body></html>",
            response_headers="Content-Type=text%2Fhtml",
            request_headers="X-Twilio-Signature=redacted",
        )
    return record


def usage_record(
    account: Account, category: str, first, last, totals: Totals, *, list_path: str, as_of: str
) -> dict[str, Any]:
    meta = CATEGORY_BY_NAME[category]
    count, usage, price = totals
    usage_path = f"{account_path(account)}/Usage/Records"
    return {
        "account_sid": account.sid,
        "api_version": API_VERSION,
        "as_of": as_of,
        "category": category,
        "count": str(count),
        "count_unit": meta.count_unit,
        "description": meta.description,
        "end_date": last.isoformat(),
        "price": format_price(price),
        "price_unit": "usd",
        "start_date": first.isoformat(),
        "subresource_uris": {
            key: f"{usage_path}/{name}.json?Category={category}" for name, key in SUBRESOURCES.items()
        },
        "uri": f"{list_path}?Category={category}&StartDate={first.isoformat()}&EndDate={last.isoformat()}",
        "usage": format_price(usage) if category == "totalprice" else str(usage),
        "usage_unit": meta.usage_unit,
    }


_ACCOUNT_SUBRESOURCES = (
    ("available_phone_numbers", "AvailablePhoneNumbers"),
    ("calls", "Calls"),
    ("conferences", "Conferences"),
    ("incoming_phone_numbers", "IncomingPhoneNumbers"),
    ("notifications", "Notifications"),
    ("outgoing_caller_ids", "OutgoingCallerIds"),
    ("recordings", "Recordings"),
    ("transcriptions", "Transcriptions"),
    ("addresses", "Addresses"),
    ("signing_keys", "SigningKeys"),
    ("connect_apps", "ConnectApps"),
    ("sip", "SIP"),
    ("authorized_connect_apps", "AuthorizedConnectApps"),
    ("usage", "Usage"),
    ("keys", "Keys"),
    ("applications", "Applications"),
    ("short_codes", "SMS/ShortCodes"),
    ("queues", "Queues"),
    ("messages", "Messages"),
    ("balance", "Balance"),
)


def account_record(account: Account, *, auth_token: str | None) -> dict[str, Any]:
    base = account_path(account)
    created = rfc2822(int(account.created().timestamp()))
    return {
        # Twilio returns the token to whoever authenticated with it; an API key gets null here,
        # so that a key holder never learns the account's master secret.
        "auth_token": auth_token,
        "date_created": created,
        "date_updated": created,
        "friendly_name": "twibox sandbox (demo data)",
        "owner_account_sid": account.sid,
        "sid": account.sid,
        "status": "active",
        "subresource_uris": {key: f"{base}/{name}.json" for key, name in _ACCOUNT_SUBRESOURCES},
        "type": "Full",
        "uri": f"{base}.json",
    }


def balance_record(account: Account, balance: str) -> dict[str, Any]:
    return {"account_sid": account.sid, "balance": balance, "currency": "USD"}


def phone_number(account: Account, index: int) -> dict[str, Any]:
    n = account.numbers[index]
    stamp = rfc2822(int(n.created.timestamp()))
    return {
        "account_sid": account.sid,
        "address_requirements": "none",
        "address_sid": None,
        "api_version": API_VERSION,
        "beta": False,
        "capabilities": {"voice": n.voice, "sms": n.sms, "mms": n.sms, "fax": False},
        "date_created": stamp,
        "date_updated": stamp,
        "emergency_status": "Inactive",
        "emergency_address_sid": None,
        "emergency_address_status": "unregistered",
        "friendly_name": n.friendly_name,
        "identity_sid": None,
        "origin": "twilio",
        "phone_number": n.phone_number,
        "sid": n.sid,
        # Twilio sends "" for an unset application SID (a known deviation from the schema).
        "sms_application_sid": "",
        "sms_fallback_method": "POST",
        "sms_fallback_url": "",
        "sms_method": "POST",
        "sms_url": "https://hooks.example.com/twilio/sms",
        "status_callback": "",
        "status_callback_method": "POST",
        "trunk_sid": None,
        "uri": f"{account_path(account)}/IncomingPhoneNumbers/{n.sid}.json",
        "voice_application_sid": "",
        "voice_caller_id_lookup": False,
        "voice_fallback_method": "POST",
        "voice_fallback_url": None,
        "voice_method": "POST",
        "voice_url": "https://hooks.example.com/twilio/voice" if n.voice else None,
        "bundle_sid": None,
        "voice_receive_mode": "voice",
        "status": "in-use",
        "type": "local",
    }


def service(account: Account, index: int) -> dict[str, Any]:
    s = account.services[index]
    url = f"https://messaging.twilio.com/v1/Services/{s.sid}"
    links = {
        "phone_numbers": "PhoneNumbers",
        "short_codes": "ShortCodes",
        "alpha_senders": "AlphaSenders",
        "messages": "Messages",
        "us_app_to_person": "Compliance/Usa2p",
        "us_app_to_person_usecases": "Compliance/Usa2p/Usecases",
        "channel_senders": "ChannelSenders",
        "destination_alpha_senders": "DestinationAlphaSenders",
    }
    return {
        "account_sid": account.sid,
        "sid": s.sid,
        "date_created": iso8601(s.created),
        "date_updated": iso8601(s.created),
        "friendly_name": s.friendly_name,
        "inbound_request_url": "https://hooks.example.com/twilio/inbound",
        "inbound_method": "POST",
        "fallback_url": None,
        "fallback_method": "POST",
        "status_callback": "https://hooks.example.com/twilio/status",
        "sticky_sender": True,
        "mms_converter": True,
        "smart_encoding": True,
        "fallback_to_long_code": False,
        "area_code_geomatch": True,
        "validity_period": 14400,
        "scan_message_content": "inherit",
        "synchronous_validation": True,
        "usecase": s.usecase,
        "us_app_to_person_registered": s.usecase != "mixed",
        "use_inbound_webhook_on_number": False,
        "links": {key: f"{url}/{path}" for key, path in links.items()},
        "url": url,
    }
