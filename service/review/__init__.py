"""Conversation review: searching past conversations, reading a transcript as the NLU read it, and the training-data
loop (an inbox of messages the NLU was unsure of, a designer's verdict on each, an export as Rasa NLU YAML).

Everything reads Rasa's tracker store through service/conversation_log.py; the inbox and its scans are tables of the
bot's database (service/review/schema.py, migration 0008). The desk's routes are desk/review_api.py.
"""
