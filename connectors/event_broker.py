"""Rasa's RabbitMQ event broker, sending every event with personal data masked.

Analytics reads every conversation event from the broker, and never needs a customer's phone number,
ID card number, e-mail or street address: they are masked in every string of the event (the text,
the NLU result's text and entity values, slot values, metadata, the bot's replies) before it leaves
the process, as `service.privacy` masks them everywhere else (138****8000). The caller's event is
never changed; the tracker store keeps the conversation whole, encrypted.

    event_broker:
      type: connectors.event_broker.ScrubbingPikaEventBroker
      url: ...            # the options of Rasa's `pika` broker
"""

from __future__ import annotations

from typing import Any

import rasa.shared.core.events  # noqa: F401  (rasa/core/brokers/pika.py uses it without importing it)
from rasa.core.brokers.pika import PikaEventBroker

from service.logs import install_log_scrubbing
from service.privacy import scrub_event


class ScrubbingPikaEventBroker(PikaEventBroker):
    """`PikaEventBroker` that publishes a masked copy of each event."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        install_log_scrubbing()  # Pika's own DEBUG line quotes each event
        super().__init__(*args, **kwargs)

    def publish(self, event: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        """Publish `event` with phones, ID numbers, e-mails and addresses masked in every string."""
        super().publish(scrub_event(event), headers)
