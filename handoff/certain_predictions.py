"""A prediction another policy already made for certain, so TED need not compute one that cannot win.

Rasa's ensemble takes the most confident prediction and, between equal confidences, the policy of higher priority
(rasa/core/policies/ensemble.py, `_pick_best_policy`). A policy that predicts an action with probability 1.0 at a
priority above TED's therefore wins whatever TED says, unless TED's answer is an end-to-end one (from the customer's
text), which overrules intent-based answers: a TED trained on no text features never gives one. Yet Rasa runs every
policy for every prediction, and TED was the largest cost of a turn that was not NLU (a third of a busy Rasa server's
samples in `make bench`, 2026-12-04): featurising the conversation and a TensorFlow call, for an answer thrown away
whenever a rule, a memorised story or HandoffPolicy has decided.

The policies run one after another on the same tracker object, TED last (the graph's order; a test checks it on the
trained model). Each of ours notes a certain prediction on the tracker, keyed by the number of its events, so a note
is never read for a later prediction of the same turn; TED skips only when the note is there. If the order ever
changed, TED would find no note and run as before: the answer is the same either way.
"""

from __future__ import annotations

from rasa.core.policies.policy import PolicyPrediction
from rasa.shared.core.trackers import DialogueStateTracker

CERTAIN = 1.0
_NOTE = "_certain_prediction"  # attribute on the tracker: (number of events, highest priority of a certain prediction)


def note_if_certain(tracker: DialogueStateTracker, prediction: PolicyPrediction) -> PolicyPrediction:
    """Remember on the tracker that `prediction` is certain (1.0, not end-to-end); returns the prediction."""
    if prediction.max_confidence >= CERTAIN and not prediction.is_end_to_end_prediction:
        events = len(tracker.events)
        noted = getattr(tracker, _NOTE, None)
        priority = prediction.policy_priority
        if noted is not None and noted[0] == events:
            priority = max(priority, noted[1])
        setattr(tracker, _NOTE, (events, priority))
    return prediction


def decided_for_certain(tracker: DialogueStateTracker, above_priority: int) -> bool:
    """A policy of higher priority than `above_priority` predicted this very step with probability 1.0."""
    noted = getattr(tracker, _NOTE, None)
    return noted is not None and noted[0] == len(tracker.events) and noted[1] > above_priority
