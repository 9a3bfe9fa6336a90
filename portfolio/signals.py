"""What the portfolio tells other apps (which it never imports)."""

from django.dispatch import Signal

# Sent once a sync has landed (stored and announced), with ``user`` and ``positions``: every
# brokers.types.Position that the brokers which answered reported (closed ones included, for
# their realized P&L). Receivers must not raise (routing's automatic trips listen).
portfolio_synced = Signal()
