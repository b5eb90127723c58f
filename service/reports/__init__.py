"""Supervisors' reports (报表) and live board (现场管理).

Sources: Rasa's tracker store (service/conversation_log: customers' messages, the NLU's reading, the bot's actions
and slots) and the bot's database (handoff_sessions, tickets, ticket_ratings). Periods (periods.py): 今日 = the
business day (CST, XIAOZHI_TODAY honoured), 近7天 / 近30天 = the 7 / 30 business days ending today; a record
belongs to a period when its time is in [first day 00:00, day after the last 00:00) CST.

Definitions (each counts within the period):
- conversation: a Rasa conversation (sender id) with at least one customer message (a user event that is not one
  of the desk's EXTERNAL_* triggers). Per day: the conversations with a customer message that day.
- handoff: a handoff session queued in the period. handoff conversation: a conversation of the period with a
  handoff queued in the period. handoff rate = handoff conversations / conversations.
- bot-only resolution rate = conversations with no handoff queued and no ticket (kind 问题, not 改进) opened in
  the period / conversations.
- handoff reasons: handoffs queued in the period by reason; share = handoffs of the reason / handoffs.
- fallback rate = customer messages the NLU read as nlu_fallback, or that the bot answered with
  action_default_fallback, / customer messages.
- queue wait = first assignment − queued, first response time = first agent message − first assignment: over
  the handoffs first assigned in the period (those with an agent message, for the response time).
- handling time = ended − first assignment, over the handoffs that ended (agent ended, or the customer left a
  chat) in the period after an agent had it. Durations: mean and median, in seconds.
- CSAT (1–5), by what was rated: 人工会话 (agent) = handoff_sessions.rating of the chats ended in the period;
  工单 = ticket_ratings given in the period; 机器人 (bot) = rate_service messages in the tracker with a score
  (the `rating` entity, else "N分/N星") given while no ticket or handoff rating was pending (those are stored
  in SQL and counted above; what is pending is read from the period's slot events). Average, distribution 1–5,
  satisfied rate = 4 or 5 / ratings.
- tickets opened / resolved / closed: created_at / resolved_at / closed_at in the period (every kind, 改进 too).
- SLA hit rate = tickets whose resolution_due falls in the period and is already past, resolved (else closed)
  at or before it / those tickets.
- top intents: customer messages by intent (retrieval intents with their topic, faq/退货政策), the 10 most.
- top misunderstood messages: the fallback messages' texts, masked (service/privacy.scrub_all) and grouped, the
  10 most frequent; button payloads (/intent…) are left out.

Modules: periods, records (SQL reads), conversations, handoffs, tickets, csat (pure figures), tables, csv_export,
summary (ReportService), board (the live board, from the bridge's queue view).
"""
