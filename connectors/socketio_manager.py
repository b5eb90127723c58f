"""socket.io rooms that span several Rasa servers, with this server's own sockets served first.

python-socketio's AsyncRedisManager sends every emit through Redis, its own server's included: a reply is written to
a socket of this very server only when this server's Redis subscription hands it back. While that subscription is
being re-made (Redis restarted: it retries after 1, 2, 4 … s), every answer of the turns this server runs is
published to nobody and lost, though the customer is connected here. LocalFirstRedisManager writes to this server's
sockets in the room at once, then publishes for the other servers, and skips its own publication when it comes back.
An emit with an acknowledgement callback keeps python-socketio's way (the callback needs the round trip).
"""

from __future__ import annotations

from typing import Any

from socketio import AsyncRedisManager

DELIVERED_HERE = "delivered_by_host"  # the host that already wrote the message to its own sockets


class LocalFirstRedisManager(AsyncRedisManager):  # type: ignore[misc]  # python-socketio ships no types
    """AsyncRedisManager whose emits reach this server's sockets without waiting on (or being lost with) Redis."""

    async def emit(self, event: str, data: Any, namespace: str | None = None, room: str | None = None,
                   skip_sid: Any = None, callback: Any = None, **kwargs: Any) -> None:
        if kwargs.get("ignore_queue") or callback is not None:
            await super().emit(event, data, namespace=namespace, room=room, skip_sid=skip_sid, callback=callback,
                               **kwargs)
            return
        namespace = namespace or "/"
        await super().emit(event, data, namespace=namespace, room=room, skip_sid=skip_sid, ignore_queue=True)
        await self._publish({"method": "emit", "event": event, "data": data, "namespace": namespace, "room": room,
                             "skip_sid": skip_sid, "callback": None, "host_id": self.host_id,
                             DELIVERED_HERE: self.host_id})

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if message.get(DELIVERED_HERE) == self.host_id:
            return  # this server wrote it to its sockets when it was sent
        await super()._handle_emit(message)
