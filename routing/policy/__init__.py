"""Per-broker settings and the global policy of each trader.

The order path reads only ``effective(user)``: an immutable snapshot of the whole profile.
"""
