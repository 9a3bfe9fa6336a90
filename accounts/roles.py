from django.contrib.auth.models import Group

TRADER = "trader"


def is_trader(user) -> bool:
    if not user or not user.is_authenticated:
        return False
    return user.groups.filter(name=TRADER).exists()


def make_trader(user) -> None:
    group, _ = Group.objects.get_or_create(name=TRADER)
    user.groups.add(group)
