"""The one way the server pushes to open pages and API clients over /ws/brokers/."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from health.consumers import user_group


def push_to_user(user_id, text: str) -> None:
    async_to_sync(get_channel_layer().group_send)(
        user_group(user_id), {"type": "push", "text": text}
    )
