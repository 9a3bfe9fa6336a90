"""The demo app of each simulated broker: credentials that work out of the box.

These are sandbox-only values, published on the sandbox page and in the README; the sandbox
is never mounted in production (SANDBOX_ENABLED is off when DEBUG is off).
"""

DEMO_APPS = {
    "zerodha": {"api_key": "kitedemo01", "api_secret": "kite-demo-secret"},
    "upstox": {"api_key": "upstox-demo-key", "api_secret": "upstox-demo-secret"},
    "fyers": {"api_key": "DEMOAPP1-100", "api_secret": "FYERSDEMOSECRET", "pin": "1234"},
    "angelone": {
        "api_key": "angel-demo-key",
        "api_secret": "angel-demo-secret",
        "client_id": "AO7788",
        "pin": "4321",
        "totp_secret": "4YXHAHFZ2GVBAUXK4EG7XGTTIHERL3VR",
    },
    "groww": {
        "api_key": "groww-demo-key",
        "api_secret": "groww-demo-secret",
        "totp_secret": "ZDWNIWMNYOV37LR7NRQS3LAK5TS6D647",
    },
    "dhan": {
        "api_key": "dhan-demo-app-id",
        "api_secret": "dhan-demo-app-secret",
        "client_id": "1100456789",
    },
    "iifl": {
        "api_key": "iifl-demo-interactive-key",
        "api_secret": "Iifl$demo1",
        "marketdata_key": "iifl-demo-market-key",
        "marketdata_secret": "Iifl$mkt1",
    },
}
