"""One help page per broker: creating the API app, the redirect URL to register, the daily
login and the static-IP rule.

Every fact comes from docs/brokers/<broker>.md. Where those notes are silent (a console
address, a price) the page sends the trader to the broker's developer portal instead of
guessing, so `console_url` and `cost` are often empty on purpose.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from brokers.models import Broker

# How the broker's login uses this site's redirect URL.
REQUIRED, OPTIONAL, NONE = "required", "optional", "none"

SEBI_RULE = (
    "SEBI's retail-algo framework is in force from 1 April 2026: orders sent through an API are "
    "accepted only from the static IP address registered for your account, and API sessions are "
    "logged out every day."
)
# Orders leave from the server running this site, not from the trader's own computer.
WHICH_IP = (
    "Orders reach your broker from the server that runs this site, so the IP to register is "
    "that server's fixed public IP address. Ask whoever runs this site for it."
)
NO_IP_NOTES = (
    "Our notes on {name} say nothing yet about how to register a static IP there. The SEBI "
    "rule still applies: check {name}'s developer portal for where to add your IP."
)

HELP = {
    "zerodha": {
        "title": "Zerodha (Kite Connect)",
        "console_url": "",
        "cost": "",
        "redirect": REQUIRED,
        "credentials": ["API key", "API secret"],
        "steps": [
            "Sign in to Zerodha's Kite Connect developer console and create a new app.",
            "Enter the redirect URL from section 2 as the app's redirect URL, exactly as shown.",
            "Copy the app's API key and API secret into this site. Keep the secret private.",
            "Add your static IP to your Kite developer account (section 4).",
        ],
        "login": [
            "Every morning you sign in on Zerodha's own login page in your browser. Zerodha "
            "does not allow this step to be automated.",
            "The session lasts until 06:00 IST the next day, whatever time you signed in.",
            "It cannot be refreshed: ordinary apps get no refresh token (only exchange-approved "
            "platforms do), so you sign in again each day.",
            "Logging out of Kite web everywhere, or a new login elsewhere, can end the session "
            "early. If that happens, just sign in again.",
        ],
        "static_ip": "From 1 April 2026 Kite accepts orders only from the static IP(s) "
        "whitelisted on your Kite developer account. From the same date, market and SL-M "
        "orders sent through the API must carry market protection, and orders are capped at "
        "10 per second.",
    },
    "upstox": {
        "title": "Upstox (API v2)",
        "console_url": "",
        "cost": "",
        "redirect": REQUIRED,
        "credentials": ["API key", "API secret"],
        "steps": [
            "Create a new app in Upstox's developer area.",
            "Enter the redirect URL from section 2. It must match exactly, or Upstox refuses "
            "the login (error UDAPI100068).",
            "Copy the app's API key and API secret into this site. The API key belongs to the "
            "app; it is not your Upstox client code (UCC).",
            "Register your static IP on the app (section 4).",
        ],
        "login": [
            "Every day you sign in on Upstox's login page in your browser; Upstox then sends you "
            "back here.",
            "The session lasts until 03:30 IST the next morning, whatever time you signed in. "
            "A session started between midnight and 03:30 ends at 03:30 the same night.",
            "It cannot be refreshed: there is no refresh token, so you sign in again each day.",
        ],
        "static_ip": "A static IP must be registered on your Upstox app for the order APIs. "
        "The exact error Upstox gives when it is missing is not confirmed.",
    },
    "fyers": {
        "title": "Fyers (API v3)",
        "console_url": "",
        "cost": "",
        "redirect": REQUIRED,
        "credentials": ["App ID", "secret key", "your Fyers PIN (to renew)"],
        "steps": [
            "Create a new app in Fyers' developer area.",
            "Enter the redirect URL from section 2 as the app's redirect URL.",
            "Copy the App ID and the secret key into this site. The App ID looks like "
            "XC4EOD67IM-100: the -100 ending is part of it, so copy it whole.",
            "Keep your Fyers login PIN at hand: renewing the session needs it (section 3).",
        ],
        "login": [
            "You sign in on Fyers' login page in your browser.",
            "The session is valid for the trading day; this site reads its end from the "
            "session itself.",
            "It can be renewed without the browser, but every renewal needs your Fyers PIN. "
            "Plan on about 15 days of renewals; after that, sign in in the browser again.",
            "Fyers hints that this renewal may be discontinued, so be ready to sign in daily.",
        ],
        "static_ip": "Our notes do not have a confirmed Fyers procedure (or error message) "
        "for the static IP yet. Plan for the rule and check Fyers' developer portal for where "
        "to register your IP.",
    },
    "angelone": {
        "title": "Angel One (SmartAPI)",
        "console_url": "",
        "cost": "",
        "redirect": OPTIONAL,
        "credentials": ["API key", "client code", "PIN (MPIN)", "TOTP"],
        "steps": [
            "Create an app under “MyApps” on Angel One's SmartAPI portal and copy its API key "
            "into this site.",
            "Turn on TOTP at https://smartapi.angelbroking.com/enable-totp and scan the QR code "
            "with an authenticator app.",
            "Note your client code (like A123456) and your 4-digit PIN (MPIN). The PIN is not "
            "your web password.",
        ],
        "redirect_note": "Not needed: this site logs in with your client code, PIN and TOTP. "
        "Only if you use Angel One's publisher (browser) login instead, register this URL for "
        "your app in MyApps:",
        "login": [
            "Each day you sign in here with your client code, PIN and the current 6-digit TOTP "
            "code from your authenticator app. The TOTP is typed each time and never stored.",
            "The session ends at midnight IST. Angel One's forum staff advise logging in every "
            "day.",
            "It can be refreshed during the day, but do not count on a refresh after midnight: "
            "sign in again.",
            "The publisher (browser) login gives no refresh token, so it always needs a fresh "
            "sign-in when it ends.",
        ],
        "static_ip": "Order APIs need a registered static IP: up to 5 per API key, changeable "
        "once a week; other APIs don't need one. This comes from third-party notes quoting "
        "Angel One's docs and is not yet confirmed on an Angel One page, so check the SmartAPI "
        "portal.",
    },
    "groww": {
        "title": "Groww (Trade API)",
        "console_url": "https://groww.in",
        "cost": "",
        "redirect": NONE,
        "credentials": ["API key", "API secret (approval key) or TOTP (TOTP key)"],
        "steps": [
            "Log in to groww.in and open the Groww Cloud API-keys page.",
            "Create an API key. Either kind works here: an approval key (comes with a secret) "
            "or a TOTP key.",
            "Approval key: copy the API key and its secret into this site. TOTP key: copy the "
            "API key into this site and add its TOTP secret to your authenticator app.",
        ],
        "redirect_note": "Not needed: Groww's API has no browser login and no redirect. This "
        "site gets the day's token with your API key.",
        "login": [
            "There is no browser login. The token dies at 06:00 IST every day and cannot be "
            "refreshed: a new one is made each day.",
            "Approval key: each day, first approve the key once on Groww's API-keys page, then "
            "connect here.",
            "TOTP key: each day, type the current 6-digit code from your authenticator app when "
            "you connect.",
        ],
        "static_ip": NO_IP_NOTES.format(name="Groww"),
    },
    "dhan": {
        "title": "Dhan (DhanHQ API v2)",
        "console_url": "https://web.dhan.co",
        "cost": "Dhan's market-data APIs need a data subscription on your account; without "
        "one, quotes fail with “Data APIs not subscribed”. Check Dhan's site for the price.",
        "redirect": REQUIRED,
        "credentials": ["API key", "API secret", "Dhan client ID"],
        "steps": [
            "Log in to web.dhan.co and open My Profile → Access DhanHQ APIs.",
            "Create an API key and secret. Dhan asks for a redirect URL at the same time: enter "
            "the one from section 2.",
            "Copy the API key, the API secret and your Dhan client ID (a number like 1100003626) "
            "into this site.",
            "The API key is valid for 12 months: make a new one before it runs out.",
            "Register your static IP (section 4).",
        ],
        "login": [
            "Each day you sign in on Dhan's login page (auth.dhan.co) with your mobile number "
            "or client ID, PIN and OTP or TOTP, and come back here.",
            "A token lasts at most 24 hours from when it was made; it does not end at a fixed "
            "time of day.",
            "Plan to sign in again each day.",
        ],
        "static_ip": "Placing and modifying orders needs a whitelisted static IP; data and "
        "other calls don't. Dhan takes a primary and a secondary IP. Orders from any other IP "
        "are rejected.",
    },
    "iifl": {
        "title": "IIFL Securities (XTS API)",
        "console_url": "",
        "cost": "",
        "redirect": NONE,
        "credentials": [
            "Interactive API app key and secret",
            "Market Data API app key and secret",
        ],
        "steps": [
            "On IIFL's XTS developer portal, create two apps: one for the Interactive "
            "(trading) API and one for the Market Data API.",
            "Copy the app key and secret key of both apps into this site: four values in all.",
            "No TOTP is needed.",
        ],
        "redirect_note": "Not needed: IIFL's XTS login has no browser redirect. This site "
        "opens the sessions with your app keys.",
        "login": [
            "No browser and nothing to type: the sessions are opened with your app keys.",
            "There are two sessions, trading and market data, and they can expire separately.",
            "Both sessions end at midnight IST at the latest and cannot be refreshed: log in "
            "again each day (one click, nothing to type).",
        ],
        "static_ip": NO_IP_NOTES.format(name="IIFL"),
    },
}


# What a broker's card in the connect wizard says: what the trader is asked at login, how
# long a session lasts and what renews it, in the trader's words, as far as it is known.
# Open questions (an undocumented lifetime, a renewal not yet seen working) stay in
# docs/brokers/<broker>.md; the card says what the trader should plan for.
CARDS = {
    "zerodha": {
        "login": "on Zerodha's own login page, in your browser",
        "session": "until 06:00 IST next day",
        "renewal": "Sign in again each day",
    },
    "upstox": {
        "login": "on Upstox's own login page, in your browser",
        "session": "until 03:30 IST next morning (a login between midnight and 03:30 lasts "
        "until 03:30)",
        "renewal": "Sign in again each day",
    },
    "fyers": {
        "login": "on Fyers' own login page, in your browser",
        "session": "the trading day",
        "renewal": "Renewed automatically with your Fyers PIN for about 15 days",
    },
    "angelone": {
        "login": "here: your client code, PIN and the 6-digit TOTP code, at each login",
        "session": "until midnight IST",
        "renewal": "Sign in again each day",
    },
    "groww": {
        "login": "nothing to type: your API key and TOTP secret open the session",
        "session": "until 06:00 IST each day",
        "renewal": "Log in again each day (one click)",
    },
    "dhan": {
        "login": "on Dhan's login page: mobile number or client ID, PIN and OTP or TOTP",
        "session": "24 hours from login",
        "renewal": "Sign in again each day",
    },
    "iifl": {
        "login": "nothing to type: your app keys open both sessions",
        "session": "until midnight IST",
        "renewal": "Log in again each day (one click)",
    },
}


def card(broker: str) -> dict:
    return CARDS[broker]


def redirect_url(broker: str) -> str:
    """The URL to register at the broker for this installation's login callback."""
    return f"{settings.SITE_URL.rstrip('/')}/brokers/callback/{broker}/"  # type: ignore[union-attr]


@login_required
def help_page(request, broker):
    page = HELP.get(broker)
    if page is None:
        raise Http404("No help for that broker.")
    context = {
        "broker": broker,
        "name": Broker(broker).label,
        "page": page,
        "redirect_url": redirect_url(broker) if page["redirect"] != NONE else "",
        "brokers": Broker.choices,
        "sebi_rule": SEBI_RULE,
        "which_ip": WHICH_IP,
        "egress_ip": settings.STATIC_EGRESS_IP,
    }
    return render(request, "brokers/help.html", context)
