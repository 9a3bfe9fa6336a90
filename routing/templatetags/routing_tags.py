from django import template

from routing.forms import slug
from routing.orders import emergency
from routing.policy.effective import effective

register = template.Library()


@register.simple_tag
def kill_switch_on(user) -> bool:
    """Whether the trader's kill switch is on (the cached snapshot: no query on most pages)."""
    return bool(user.is_authenticated and effective(user).kill_switch.on)


@register.simple_tag
def trading_paused(user) -> emergency.TradingPaused | None:
    """The every-broker-down banner's facts (one query), None while a broker can trade."""
    return emergency.trading_paused(user) if user.is_authenticated else None


@register.filter
def error_id(path: str) -> str:
    return slug(path)


@register.simple_tag
def field_error(errors: dict, path: str) -> str:
    return errors.get(path, "")


@register.filter
def lookup(mapping, key):
    try:
        return mapping.get(key) if hasattr(mapping, "get") else mapping[key]
    except (KeyError, IndexError, TypeError):
        return None


@register.filter
def show(value) -> str:
    """A value of a diff for people."""
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(none)"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


@register.filter
def words(value) -> str:
    """LOWEST_COST → Lowest cost; MUTUAL_FUND → Mutual fund."""
    text = str(value).replace("_", " ").lower()
    return text[:1].upper() + text[1:]
