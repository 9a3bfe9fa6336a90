from django.contrib.auth.models import Group

TRADER = "trader"


def is_trader(user) -> bool:
    """Whether ``user`` holds the trader role (asked once per user instance, i.e. per request)."""
    if not user or not user.is_authenticated:
        return False
    known = getattr(user, "_is_trader", None)
    if known is None:
        known = user.groups.filter(name=TRADER).exists()
        remember(user, trader=known)
    return known


def remember(user, *, trader: bool) -> None:
    user._is_trader = trader


def make_trader(user) -> None:
    group, _ = Group.objects.get_or_create(name=TRADER)
    user.groups.add(group)
    remember(user, trader=True)
