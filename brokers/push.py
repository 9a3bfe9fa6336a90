"""The one way the server pushes to a trader's open pages and API clients on /ws/brokers/.

Every push goes to the user's own group only; the websocket consumer forwards it unchanged.
"""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def user_group(user_id) -> str:
    return f"user-{user_id}"


def push_to_user(user_id, text: str) -> None:
    async_to_sync(get_channel_layer().group_send)(
        user_group(user_id), {"type": "push", "text": text}
    )
