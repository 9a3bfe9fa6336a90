"""A trader's broker connections as the policy names them: one key per connection.

The key is the broker's name (``zerodha``) for the first connection of a broker and
``zerodha-2``, ``zerodha-3``... for more accounts of the same broker. Once given, a key stays
with its connection (the assignment is stored with the policy), so settings, priority lists
and rules keep pointing at the same account. A connection that is disconnected frees its key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from brokers.models import BrokerConnection, ConnectionStatus


@dataclass(frozen=True)
class Account:
    key: str
    broker: str
    connection_id: str
    account_id: str
    label: str  # for people: "Zerodha AB1234"


def current_connections(user) -> list[BrokerConnection]:
    """The connections a policy can name: every one not disconnected, oldest first (``user``:
    a user or a user id)."""
    return list(
        BrokerConnection.objects.filter(user_id=getattr(user, "pk", user))
        .exclude(status=ConnectionStatus.DISCONNECTED)
        .order_by("created_at", "pk")
    )


def assign(
    connections: Iterable[BrokerConnection], stored: Mapping[str, str]
) -> dict[str, Account]:
    """Keys for ``connections`` (oldest first); ``stored`` is the kept {connection id: key}."""
    connections = list(connections)
    taken: dict[str, str] = {}
    for connection in connections:
        key = stored.get(str(connection.pk))
        if key and key not in taken:
            taken[key] = str(connection.pk)
    by_id = {cid: key for key, cid in taken.items()}
    accounts: dict[str, Account] = {}
    for connection in connections:
        cid = str(connection.pk)
        key = by_id.get(cid)
        if key is None:
            key, n = connection.broker, 1
            while key in taken:
                n += 1
                key = f"{connection.broker}-{n}"
            taken[key] = cid
        accounts[key] = Account(
            key=key,
            broker=connection.broker,
            connection_id=cid,
            account_id=connection.account_id,
            label=f"{connection.get_broker_display()} {connection.account_id}",
        )
    return dict(sorted(accounts.items(), key=lambda item: _order(item[0])))


def _order(key: str) -> tuple[str, int]:
    broker, _, n = key.partition("-")
    return broker, int(n) if n.isdecimal() else 1


def stored_keys(accounts: Mapping[str, Account]) -> dict[str, str]:
    return {a.connection_id: key for key, a in accounts.items()}
