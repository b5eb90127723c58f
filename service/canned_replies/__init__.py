"""快捷回复 (canned replies): texts agents insert into the reply box, per skill group or for all, with placeholders
filled from the open chat. Supervisors manage them in the desk; see store.py (CRUD, search, who sees what),
placeholders.py (which names exist and how they are filled) and defaults.py (the embedded mode's first replies)."""
