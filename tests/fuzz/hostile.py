"""Hostile input for every operation of the desk's /openapi.json, as hypothesis strategies over raw HTTP bytes.

`python -m tests.fuzz.hostile PLAN.json` (the orchestrator writes the plan: the desk's URL, its test secret, tokens,
seeded targets, examples per operation). Each example is one request: forged or expired tokens, oversized or deeply
nested or invalid UTF-8 bodies, script and SQL strings in every field, parameter and path segment. Properties, for
every answer: no 5xx and no dropped connection; a status the document lists for the operation (or 400/404/413/414/431
for what never reaches a route); errors as JSON {error, reason}; a forged, expired or missing token never opens a
secured route; injected filter text matches no ticket. Exit 1 with the failures listed.
"""

from __future__ import annotations

import base64
import http.client
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import jwt
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from desk.auth import Role, StaffMember, TokenIssuer
from service.desk_client import bot_token
from tests.fuzz.raw_http import REQUEST_TIMEOUT_S, Answer, RawClient, Request, malformed_request_line
from tests.fuzz.tally import Operation, operations

RUN = "hostile"
TRANSPORT = frozenset({400, 404, 413, 414, 431})  # answered before any route: no operation lists them all
MAX_BODY = 64 * 1024
SCRIPT_AND_SQL = (
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)", "' OR '1'='1",
    "' OR 1=1 --", "'; DROP TABLE tickets; --", '" OR ""="', "1; SELECT pg_sleep(5)", "admin'--",
    "T2026112100001' OR 'x'='x", "%27%20OR%201%3D1", "UNION SELECT password_hash FROM staff", "{{7*7}}",
    "${jndi:ldap://127.0.0.1/x}", "../../../../etc/passwd", "\x00", "\u202e\u0000\ufeff", "ﾟ＜script＞", "𠀋" * 50,
    "\\u0000\\ud800", "\r\nSet-Cookie: x=1", "NaN", "-1", "1e309", "9" * 400,
)


# --- the plan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    url: str
    secret: str
    tokens: dict[str, str]
    tickets: list[str]
    sessions: list[str]
    examples: dict[str, int]  # "GET /api/tickets" -> how many requests
    seed: int

    @classmethod
    def load(cls, path: Path) -> Plan:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


# --- strategies ---------------------------------------------------------------------------------

text = st.text(max_size=40)
hostile_text = st.one_of(st.sampled_from(SCRIPT_AND_SQL), text,
                         st.tuples(text, st.sampled_from(SCRIPT_AND_SQL)).map("".join))


NONE_HEADER = b'{"alg":"none","typ":"JWT"}'
SUPERVISOR = StaffMember("supervisor", "周主管", Role.SUPERVISOR, "客服中心")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass
class Tokens:
    """Tokens good and bad, made with the desk's test secret."""

    plan: Plan
    expired: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        past = TokenIssuer(self.plan.secret, now=lambda: time.time() - 9 * 3600)
        for member in (SUPERVISOR, StaffMember("agent1", "小王", Role.AGENT, "售后技术")):
            self.expired.append(past.issue(member)[0])
        self.expired.append(bot_token(self.plan.secret, now=time.time() - 3600))

    def forged(self) -> st.SearchStrategy[tuple[str, bytes]]:
        valid = list(self.plan.tokens.values())
        claims = st.fixed_dictionaries({
            "sub": st.sampled_from(["supervisor", "agent1", "ghost", "bot", ""]),
            "role": st.sampled_from(["主管", "坐席", "bot", "管理员", ""]),
            "aud": st.sampled_from(["xiaozhi-desk-staff", "xiaozhi-desk-bot", "other"]),
            "jti": st.text(max_size=8), "exp": st.integers(0, 2**40), "gen": st.integers(-1, 3)})
        wrong_key = st.tuples(claims, st.text(min_size=1, max_size=20)).map(
            lambda c: jwt.encode(c[0], (c[1] * 32)[:64], algorithm="HS256"))
        alg_none = claims.map(lambda c: _b64(NONE_HEADER) + "." + _b64(json.dumps(c).encode()) + ".")
        tampered = st.tuples(st.sampled_from(valid), st.integers(0, 10_000), st.sampled_from("AaZz09-_")).map(
            lambda t: _tamper(*t))
        other_alg = st.sampled_from(valid).map(lambda t: _b64(b'{"alg":"HS512","typ":"JWT"}') + t[t.index("."):])
        token = st.one_of(wrong_key, alg_none, tampered, other_alg, st.sampled_from(self.expired),
                          st.text(max_size=300), st.sampled_from(["", ".", "..", "a.b.c", "null", "Bearer"]))
        as_bearer = token.map(lambda t: (f"forged token ({t[:24]!r})", b"Bearer " + t.encode("utf-8", "replace")))
        schemes = st.sampled_from([("Basic credentials", b"Basic dXNlcjpwYXNz"), ("empty header", b""),
                                   ("Bearer without token", b"Bearer "), ("bare token", valid[0].encode()),
                                   ("huge token", b"Bearer " + b"A" * 8000),
                                   ("invalid UTF-8 in the header", b"Bearer \xff\xfe" + valid[0].encode()[:20])])
        return st.one_of(as_bearer, schemes)


def _tamper(token: str, where: int, char: str) -> str:
    """One character of the claims changed (never the segment's last, whose spare bits base64 ignores)."""
    head, claims, signature = token.split(".")
    i = where % max(len(claims) - 1, 1)
    new = char if claims[i] != char else ("B" if char != "B" else "C")
    return ".".join([head, claims[:i] + new + claims[i + 1:], signature])


def _quote(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


@dataclass
class Attacks:
    """Strategies for one operation's hostile requests."""

    plan: Plan
    tokens: Tokens
    spec: dict[str, Any]
    op: Operation

    @property
    def definition(self) -> dict[str, Any]:
        return self.spec["paths"][self.op.template][self.op.method]

    @property
    def secured(self) -> bool:
        return self.definition.get("security", self.spec.get("security")) != []

    @property
    def bot_only(self) -> bool:
        return self.definition.get("security") == [{"botAuth": []}]

    def auth(self) -> list[tuple[bytes, bytes]]:
        if not self.secured:
            return []
        if self.op.template == "/api/auth/logout":  # a fresh token each time: logging out revokes the one sent
            token = TokenIssuer(self.plan.secret).issue(SUPERVISOR)[0]
        else:
            token = self.plan.tokens["bot" if self.bot_only else "supervisor"]
        return [(b"Authorization", f"Bearer {token}".encode())]

    def params(self, where: str) -> list[str]:
        return [p["name"] for p in self.definition.get("parameters", []) if p["in"] == where]

    def body_fields(self) -> dict[str, Any]:
        content = self.definition.get("requestBody", {}).get("content", {}).get("application/json", {})
        schema = content.get("schema", {})
        while "$ref" in schema:
            schema = self.spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        return schema.get("properties", {})

    def path(self) -> st.SearchStrategy[str]:
        """The path with real targets in most examples (so bodies reach the route), hostile ones in the rest."""
        template = self.op.template
        for name in self.params("path"):
            real = self.plan.tickets if name == "number" else self.plan.sessions
            value = st.one_of(st.sampled_from(real or ["X"]), st.sampled_from(real or ["X"]), hostile_text)
            template = template.replace("{" + name + "}", "\0")
            holes = template.count("\0")
            return st.lists(value, min_size=holes, max_size=holes).map(
                lambda values, t=template: _fill(t, [_quote(v) or "x" for v in values]))
        return st.just(template)

    # --- the attacks ---

    def forged_auth(self) -> st.SearchStrategy[Request]:
        return st.tuples(self.path(), self.tokens.forged()).map(lambda t: Request(
            self.op.method.upper(), t[0].encode(), [(b"Authorization", t[1][1])], self._shaped_body(), t[1][0],
            forged_token=self.secured))

    def _shaped_body(self) -> bytes | None:
        if "requestBody" not in self.definition:
            return None
        fields = self.body_fields()
        return json.dumps({name: _example(schema) for name, schema in fields.items()}, ensure_ascii=False).encode()

    def bodies(self) -> st.SearchStrategy[Request]:
        fields = list(self.body_fields()) or ["text"]
        deep = st.tuples(st.sampled_from(["[", '{"a":']), st.sampled_from([50, 500, 999, 1500, 5000, 30_000])).map(
            lambda t: (f"JSON nested {t[1]} deep", (t[0] * t[1] + ("1" if t[0] == "[" else "1")
                                                     + ("]" if t[0] == "[" else "}") * t[1]).encode()))
        oversized = st.integers(MAX_BODY - 16, 3 * MAX_BODY).map(
            lambda n: (f"{n}-byte body", json.dumps({fields[0]: "长" * (n // 3)}).encode()[:n].ljust(n, b" ")))
        invalid_utf8 = st.binary(min_size=1, max_size=64).map(
            lambda raw: ("invalid UTF-8 in a string", b'{"' + fields[0].encode() + b'": "' + b"\xff" + raw + b'"}'))
        surrogate = st.sampled_from(["\\ud800", "\\udfff", "\\ud83d", "a\\udc00b"]).map(
            lambda s: ("a lone surrogate", json.dumps({fields[0]: "x"}).replace('"x"', f'"{s}"').encode()))
        constants = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "9" * 5000, "[]", "null", '"x"',
                                     "{", '{"a":1,"a":2}', "\ufeff{}", ""]).map(
            lambda v: (f"body {v[:12]!r}", (json.dumps({fields[0]: 0}).replace("0", v) if v not in (
                "", "{", "\ufeff{}", "[]") else v).encode("utf-8")))
        garbage = st.binary(max_size=512).map(lambda raw: ("random bytes", raw))
        injected = st.fixed_dictionaries({name: hostile_text for name in fields}).map(
            lambda body: ("script/SQL strings in every field", json.dumps(body, ensure_ascii=False).encode(
                "utf-8", "surrogatepass")))
        wrong_types = st.dictionaries(st.sampled_from(fields), st.one_of(
            st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(), st.lists(st.integers(), max_size=3),
            st.dictionaries(text, text, max_size=2)), min_size=1).map(lambda body: ("wrong types", json.dumps(body).encode()))
        content_type = st.sampled_from([b"application/json", b"text/plain", b"application/x-www-form-urlencoded",
                                        b"application/json; charset=latin-1", b"multipart/form-data; boundary=x"])
        return st.tuples(self.path(), st.one_of(deep, oversized, invalid_utf8, surrogate, constants, garbage,
                                                injected, wrong_types), content_type).map(lambda t: Request(
            self.op.method.upper(), t[0].encode(), [*self.auth(), (b"Content-Type", t[2])], t[1][1], t[1][0]))

    def queries(self) -> st.SearchStrategy[Request]:
        names = self.params("query") or ["q"]
        free_text = {"assignee", "customer_id", "q", "viewer"}
        value = st.one_of(hostile_text.map(_quote), st.sampled_from(["%ff", "%", "%zz", "%00", "%c0%af", "%ed%a0%80"]),
                          st.binary(min_size=1, max_size=12).map(lambda b: b.decode("latin-1")))
        pairs = st.lists(st.tuples(st.sampled_from(names + ["unknown", "page[]", ""]), value), min_size=1, max_size=4)

        def build(t: tuple[str, list[tuple[str, str]], bool]) -> Request:
            path, chosen, _ = t
            query = "&".join(f"{name}={v}" for name, v in chosen)
            injected = (all(name in free_text and unquote(v).strip() for name, v in chosen)
                        and len({n for n, _v in chosen}) == len(chosen) and self.op.template == "/api/tickets")
            return Request(self.op.method.upper(), (path + "?" + query).encode("latin-1"), self.auth(),
                           self._shaped_body(), "hostile query parameters", injected_filter=injected)

        return st.tuples(self.path(), pairs, st.booleans()).map(build)

    def typed_queries(self) -> st.SearchStrategy[Request]:
        """One documented query parameter with a value the document allows (must be answered 2xx) or one it does
        not (must be 400 or 422): huge and odd numbers (1_0, ＋1, ٣), padded or wrong-case enum values."""
        typed = [p for p in self.definition.get("parameters", []) if p["in"] == "query"
                 and ("enum" in p.get("schema", {}) or p.get("schema", {}).get("type") == "integer")]
        if not typed:
            return st.nothing()

        def value(parameter: dict[str, Any]) -> st.SearchStrategy[tuple[str, str, bool]]:
            schema, name = parameter["schema"], parameter["name"]
            if "enum" in schema:
                good = st.sampled_from([v for v in schema["enum"] if v])
                bad = st.one_of(good.map(lambda v: f" {v}"), good.map(lambda v: v.upper() if v.upper() != v else v + "x"),
                                hostile_text.filter(lambda v: v not in schema["enum"] and v != ""))
            else:
                low, high = schema.get("minimum", -2**63), schema.get("maximum", 2**63)
                good = st.integers(low, high).map(str)
                bad = st.one_of(st.integers(high + 1, 10**40).map(str), st.integers(-10**40, low - 1).map(str),
                                st.sampled_from(["1_0", "+1", " 1", "1 ", "１", "٣", "1.0", "1e3", "0x10", "9" * 5000]))
            return st.one_of(good.map(lambda v: (name, v, True)), bad.map(lambda v: (name, v, False)))

        return st.tuples(self.path(), st.sampled_from(typed).flatmap(value)).map(lambda t: Request(
            self.op.method.upper(), f"{t[0]}?{t[1][0]}={_quote(t[1][1])}".encode(), self.auth(), self._shaped_body(),
            f"query {t[1][0]}={t[1][1][:20]!r} ({'allowed' if t[1][2] else 'not allowed'} by the document)",
            expect="2xx" if t[1][2] else "400/422"))

    def paths(self) -> st.SearchStrategy[Request]:
        segment = st.one_of(hostile_text.map(_quote), st.sampled_from(["%2F", "..", "%00", "%ff", "%2e%2e", "x" * 5000]),
                            st.binary(min_size=1, max_size=8).map(lambda b: b.decode("latin-1")))
        if self.params("path"):
            template = self.op.template
            for name in self.params("path"):
                template = template.replace("{" + name + "}", "\0")
            holes = template.count("\0")
            built = st.lists(segment, min_size=holes, max_size=holes).map(lambda v, t=template: _fill(t, v))
        else:
            built = st.tuples(st.just(self.op.template), st.sampled_from(["", "%20", "%2F", ";x", "%00"])).map("".join)
        return built.map(lambda path: Request(self.op.method.upper(), path.encode("latin-1"), self.auth(),
                                              self._shaped_body(), "hostile path segment"))

    def headers(self) -> st.SearchStrategy[Request]:
        junk = st.sampled_from([(b"Content-Length", b"-1"), (b"Content-Length", b"abc"), (b"Transfer-Encoding", b"gzip"),
                                (b"Transfer-Encoding", b"chunked, identity"), (b"Host", b""),
                                (b"X-Forwarded-For", b"' OR 1=1"), (b"Accept", b"text/html"), (b"Cookie", b"\xff"),
                                (b"Upgrade", b"websocket"), (b"Connection", b"Upgrade"),
                                (b"Sec-WebSocket-Version", b"99"), (b"Sec-WebSocket-Key", b"not base64"),
                                (b"X-" + b"a" * 200, b"b" * 4000), (b"Origin", b"null")])
        # a complete, valid WebSocket handshake is left out on purpose: it would switch protocols, not answer
        return st.tuples(self.path(), st.lists(junk, min_size=1, max_size=3, unique_by=lambda h: h[0])).filter(
            lambda t: not {b"Upgrade", b"Connection", b"Sec-WebSocket-Key"} <= {h[0] for h in t[1]}).map(
            lambda t: Request(self.op.method.upper(), t[0].encode(), [*self.auth(), *t[1]],
                              None if any(h[0] in (b"Content-Length", b"Transfer-Encoding") for h in t[1])
                              else self._shaped_body(), "hostile headers"))

    def all(self) -> st.SearchStrategy[Request]:
        kinds = [self.forged_auth(), self.queries(), self.paths(), self.headers(), self.typed_queries()]
        if "requestBody" in self.definition:
            kinds += [self.bodies(), self.bodies()]
        return st.one_of(kinds)


def _fill(template: str, values: list[str]) -> str:
    for value in values:
        template = template.replace("\0", value, 1)
    return template


def _example(schema: dict[str, Any]) -> Any:
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    return {"string": "已收到", "boolean": False, "integer": 1, "array": [], "object": {}}.get(schema.get("type"), "x")


# --- the properties -----------------------------------------------------------------------------


@dataclass
class Verdicts:
    failures: list[str] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)  # sent, never answered: the desk cannot count them

    def check(self, attacks: Attacks, request: Request, answer: Answer | Exception) -> None:
        op = str(attacks.op)
        self.sent[op] = self.sent.get(op, 0) + 1
        if isinstance(answer, Exception):
            self.dropped[op] = self.dropped.get(op, 0) + 1
        problem = _problem(attacks, request, answer)
        if problem:
            shown = request.target[:120].decode("latin-1")
            self.failures.append(f"{op} — {request.what.split(' (')[0]}: {problem}\n    {request.method} {shown}"
                                 f"{' body ' + repr(request.body[:120]) if request.body else ''}")


def _problem(attacks: Attacks, request: Request, answer: Answer | Exception) -> str | None:
    if isinstance(answer, Exception):
        if malformed_request_line(request.target):
            return None
        return f"no answer ({type(answer).__name__}: {answer})"
    documented = {int(code) for code in attacks.definition.get("responses", {}) if code.isdigit()}
    status = answer.status
    if status >= 500:
        return f"{status} {answer.body[:200]!r}"
    if answer.seconds > REQUEST_TIMEOUT_S / 2:
        return f"answered after {answer.seconds:.1f} s"
    if status not in documented and status not in TRANSPORT:
        return f"{status} is not documented for this operation (documented: {sorted(documented)})"
    if status >= 400 and attacks.op.template != "/docs":
        if not answer.headers.get("content-type", "").startswith("application/json"):
            return f"{status} answered as {answer.headers.get('content-type')!r}, not JSON"
        try:
            body = json.loads(answer.body)
        except ValueError:
            return f"{status} with a body that is not JSON: {answer.body[:120]!r}"
        if not (isinstance(body, dict) and {"error", "reason"} <= body.keys()):
            return f"{status} without {{error, reason}}: {answer.body[:120]!r}"
    if request.expect == "2xx" and not 200 <= status < 300 and status not in (403, 404):
        return f"{status} for a value the document allows: {answer.body[:160]!r}"
    if request.expect == "400/422" and status not in (400, 422):
        return f"{status} for a value the document does not allow"
    if request.forged_token and status < 400:
        return f"a forged/expired/missing token was accepted ({status})"
    if status == 405 and "allow" not in answer.headers:
        return "405 without Allow"
    if request.injected_filter and status == 200:
        total = json.loads(answer.body).get("total")
        if total:
            return f"injected filter text matched {total} tickets"
    return None


# --- running ------------------------------------------------------------------------------------


def run_operation(plan: Plan, tokens: Tokens, spec: dict[str, Any], op: Operation, verdicts: Verdicts,
                  client: RawClient) -> None:
    attacks = Attacks(plan, tokens, spec, op)
    examples = plan.examples.get(str(op), 0)
    if examples <= 0:
        return

    @seed(plan.seed)
    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), derandomize=False)
    @given(attacks.all())
    def attack(request: Request) -> None:
        try:
            answer: Answer | Exception = client.send(request)
        except (OSError, http.client.HTTPException) as exc:
            client.close()
            answer = exc
        verdicts.check(attacks, request, answer)
        if op.template == "/api/auth/logout" and isinstance(answer, Answer) and answer.status == 200:
            token = dict(request.headers).get(b"Authorization", b"")
            again = Request("GET", b"/api/me", [(b"Authorization", token)], None, "the token just logged out")
            after = client.send(again)
            if after.status != 401:
                verdicts.failures.append(f"{op} — a logged-out token still opens GET /api/me ({after.status})")

    attack()


def main(argv: list[str]) -> int:
    """`python -m tests.fuzz.hostile PLAN [K/N]`: every operation, or (K/N) every N-th from the K-th, so that N
    processes share the operations; the results go beside PLAN, named after the part."""
    plan_path = Path(argv[1])
    part, parts = (int(n) for n in argv[2].split("/")) if len(argv) > 2 else (0, 1)
    out = plan_path if parts == 1 else plan_path.with_name(f"{plan_path.stem}-{part}{plan_path.suffix}")
    plan = Plan.load(plan_path)
    client = RawClient(plan.url, RUN)
    spec = json.loads(client.send(Request("GET", b"/openapi.json", [], None, "spec")).body)
    tokens, verdicts = Tokens(plan), Verdicts()
    started = time.perf_counter()
    for op in operations(spec)[part::parts]:
        run_operation(plan, tokens, spec, op, verdicts, client)
    client.close()
    print(f"hostile: {sum(verdicts.sent.values())} requests over {len(verdicts.sent)} operations in "
          f"{time.perf_counter() - started:.1f} s; {len(verdicts.failures)} failures")
    kinds = Counter(failure.split("\n")[0] for failure in verdicts.failures)
    for kind, n in kinds.most_common(40):
        print(f"  {n:5d} × {kind}")
    for failure in list({f.split(chr(10))[0]: f for f in verdicts.failures}.values())[:30]:
        print("  e.g. " + failure)
    out.with_suffix(".failures.txt").write_text("\n".join(verdicts.failures), encoding="utf-8")
    out.with_suffix(".dropped.json").write_text(json.dumps(verdicts.dropped), encoding="utf-8")
    return 1 if verdicts.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
