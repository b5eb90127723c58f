"""Rasa's ResponseSelector, asked only for the messages whose intent is its retrieval intent.

Rasa runs every component of the pipeline on every message. Our two response selectors (faq and chitchat) are
small DIET models, and together they were 47 % of a parse's time (py-spy over the 545 held-out texts, 2026-12-04),
although their answer is used only when the message's intent is theirs: the retrieval action `utter_faq` reads
`response_selector.faq` of a message whose intent is faq, and the reports read the topic of the message's own intent.

`IntentGatedResponseSelector` trains exactly as ResponseSelector does and answers exactly as it does for a message
whose intent (the intent classifier's, which runs before it) is its retrieval intent, and for an intent typed as
"/faq" (a button), whose intent the classifier has not set yet. For any other message it only records
`all_retrieval_intents`, as ResponseSelector does, with no selection: nothing reads one there.

Rasa's training then warns that the data has response examples and the configuration "does not include a response
selector component": its check compares classes exactly, and this class is one. The warning is untrue here.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import RESPONSE_SELECTOR_PROPERTY_NAME, RESPONSE_SELECTOR_RETRIEVAL_INTENTS
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

TYPED_INTENT_PREFIX = "/"  # Rasa's INTENT_MESSAGE_PREFIX: "/faq" from a button


def concerns(message_intent: str | None, text: str, retrieval_intents: list[str]) -> bool:
    """Whether a selector for `retrieval_intents` has to choose an answer for this message."""
    return text.startswith(TYPED_INTENT_PREFIX) or (message_intent or "") in retrieval_intents


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class IntentGatedResponseSelector(ResponseSelector):
    """ResponseSelector that selects only for messages of its own retrieval intent."""

    def _selected_intents(self) -> list[str]:
        return [self.retrieval_intent] if self.retrieval_intent else list(self.all_retrieval_intents)

    def process(self, messages: list[Message]) -> list[Message]:
        """Selects an answer for the messages of its intent; marks the others with the retrieval intents only."""
        intents = self._selected_intents()
        asked: list[Message] = []
        for message in messages:
            if concerns(_intent_of(message), str(message.get(TEXT) or ""), intents):
                asked.append(message)
            else:
                properties: dict[str, Any] = message.get(RESPONSE_SELECTOR_PROPERTY_NAME, {})
                properties[RESPONSE_SELECTOR_RETRIEVAL_INTENTS] = self.all_retrieval_intents
                message.set(RESPONSE_SELECTOR_PROPERTY_NAME, properties, add_to_output=True)
        if asked:
            super().process(asked)
        return messages


def _intent_of(message: Message) -> str | None:
    intent = message.get(INTENT) or {}
    name = intent.get(INTENT_NAME_KEY) if isinstance(intent, dict) else None
    return str(name) if name else None
