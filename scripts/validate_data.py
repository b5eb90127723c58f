"""`rasa data validate`, with its one false positive resolved instead of ignored.

Rasa's validator warns that a response "is not used in any story or rule" when a form asks
for a slot with it (utter_ask_<slot>), when a custom action utters it, or when one of
Rasa's default actions does (utter_default). This script runs the same checks as
`rasa data validate` and treats such a response as used when the form or the code really
uses it: a response named in actions/*.py or a form's utter_ask_<slot>. Every other
warning fails the run, and so does a response the code names but the domain lacks.

    python scripts/validate_data.py
    python scripts/validate_data.py --project /tmp/copy   # a copy with its own config.yml, domain.yml, data/
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

UNUSED = re.compile(r"The utterance '(?P<name>[^']+)' is not used in any story or rule\.")
NAMED_RESPONSE = re.compile(r"""["'](utter_[a-z0-9_]*[a-z0-9])["']""")
NOT_A_RESPONSE = {"utter_action"}  # the BotUttered metadata key, not a response
# Rasa 3.6 raises this for every domain that has slots (rasa/shared/core/slot_mappings.py).
UNCONDITIONAL = ("Slot auto-fill has been removed in 3.0",)
# ... and this when domain.yml lists the retrieval intents, as its docs require, because the
# importer merges a second domain made of the same intents (ResponsesSyncImporter).
DUPLICATE_INTENTS = re.compile(r"duplicated intents have been found across multiple domain files: (?P<names>[^\n]+)")


def responses_named_in_code() -> set[str]:
    names: set[str] = set()
    for path in [*(ROOT / "actions").glob("*.py"), ROOT / "handoff" / "replies.py"]:  # replies: handoff texts
        names.update(NAMED_RESPONSE.findall(path.read_text(encoding="utf-8")))
    return names - NOT_A_RESPONSE


def responses_used_by_forms(domain: object) -> set[str]:
    used: set[str] = set()
    for form, definition in domain.forms.items():
        for slot in definition.get("required_slots", []):
            used.add(f"utter_ask_{slot}")
            used.add(f"utter_ask_{form}_{slot}")
    return used


def main(argv: list[str] | None = None) -> int:
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.validator import Validator

    from actions.names import DEFAULT_ACTION_RESPONSES, Response

    options = argparse.ArgumentParser(description="rasa data validate, as make validate runs it")
    options.add_argument("--project", type=Path, default=ROOT,
                         help="the directory with config.yml, domain.yml and data/ (default: this project)")
    project = options.parse_args(argv).project
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        importer = TrainingDataImporter.load_from_config(
            str(project / "config.yml"), str(project / "domain.yml"), [str(project / "data")]
        )
        validator = Validator.from_importer(importer)
        domain = importer.get_domain()
        results = {
            "domain": validator.verify_domain_validity(),
            "actions in stories": validator.verify_actions_in_stories_rules(),
            "forms in stories": validator.verify_forms_in_stories_rules(),
            "form slots": validator.verify_form_slots(),
            "slot mappings": validator.verify_slot_mappings(),
            "intents": validator.verify_intents_in_stories(False),
            "duplicate examples": validator.verify_example_repetition_in_intents(False),
            "story structure": validator.verify_story_structure(False),
        }
        validator.verify_utterances_in_stories(True)
        validator.warn_if_config_mandatory_keys_are_not_set()

    in_code = responses_named_in_code()
    used_elsewhere = in_code | responses_used_by_forms(domain) | set(DEFAULT_ACTION_RESPONSES)
    topic_labels = {name for name in domain.responses if name.startswith(Response.TOPIC_PREFIX)}
    external = {i for i in domain.intents if i.startswith("EXTERNAL_")}
    problems: list[str] = []
    acknowledged = 0
    for warning in caught:
        if not issubclass(warning.category, UserWarning):
            continue  # library deprecation noise, not about our data
        message = str(warning.message)
        if message.startswith(UNCONDITIONAL):
            continue
        if any(f"intent '{name}' is listed in the domain file, but is not found in the NLU" in message
               for name in external):
            continue  # sent by the desk through trigger_intent, never typed: no examples by design
        duplicate = DUPLICATE_INTENTS.search(message)
        if duplicate and {n.strip() for n in duplicate.group("names").split(",")} <= set(domain.retrieval_intents):
            continue
        unused = UNUSED.search(message)
        if unused and (unused.group("name") in used_elsewhere or unused.group("name") in topic_labels):
            acknowledged += 1
            continue
        problems.append(message)
    missing = sorted(name for name in in_code if name not in domain.responses)
    problems += [f"actions/ name the response '{name}', which domain.yml does not define" for name in missing]
    problems += [f"check failed: {name}" for name, ok in results.items() if not ok]

    for problem in problems:
        print(f"WARNING {problem}")
    print(f"validated: {len(domain.intents)} intents, {len(domain.responses)} responses "
          f"({acknowledged} uttered by forms, actions or Rasa defaults), {len(domain.form_names)} forms; "
          f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
