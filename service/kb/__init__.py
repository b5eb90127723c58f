"""Agent assist's knowledge base: FAQ answers, policy documents (docs/kb/) and well-rated past agent replies,
searched with jieba + BM25 and re-ranked with the sentence encoder.

units.py        what is searched: a KnowledgeUnit (id, source, title, answer text, extra questions)
faq.py          units from the FAQ responses (utter_faq/<topic>) with their NLU examples as questions
policy_docs.py  units from docs/kb/*.md, one per section
past_replies.py units from agent replies in handoffs rated 4 or 5, the customer's message as the question, masked
tokens.py       jieba tokens for BM25 (the shop's words, normalised text, no function words)
index.py        KnowledgeIndex: BM25 top 20, re-ranked by a blend with the encoder's cosine
assist.py       Assist: builds the index in a thread at desk start, refreshes past replies, answers suggestions
"""
