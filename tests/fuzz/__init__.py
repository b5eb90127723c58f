"""The desk under fuzz: schemathesis over /openapi.json and hypothesis strategies for hostile input (make test-fuzz).

`python -m tests.fuzz` starts a seeded desk, runs both against it as 主管, 坐席, the bot and nobody, counts every
request per operation on the desk's side and fails on any 5xx, any check failure or any operation under its quota.
schemathesis lives in its own virtualenv (.venv-fuzz, requirements-fuzz.txt): no release of it installs beside
Rasa 3.6's pins (pytest 7.4, jsonschema 3.2, Werkzeug 3, requests 2.34).
"""
