"""Turn latency over the REST channel vs bare NLU parsing, with N concurrent customers.

Starts its own action server and Rasa server (fresh demo database) unless --url is given,
warms up, then lets N simulated customers run scripted multi-turn conversations at the same
time; in the same run it sends the same texts to /model/parse at the same concurrency and
pacing (/model/parse is Rasa's HTTP API: it gets a JWT signed with RASA_JWT_SECRET, the stack's
own or, with --url, the one in the environment or var/). Customers pause between messages like
people reading and typing (--think-ms, ±50% jitter, seeded); --think-ms 0 sends back to back
instead and measures saturation.
Prints JSON: turn p50/p95/p99, throughput, errors, parse p50/p95/p99 and turn/parse ratio.

    python bench/turns.py [--customers 8] [--rounds 6] [--think-ms 1500] [--url http://127.0.0.1:5005]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from desk.rasa_client import RasaJwt  # noqa: E402
from scripts.launch import running_stack  # noqa: E402
from service.secrets import stored_secret  # noqa: E402
from service.settings import Settings, get_settings  # noqa: E402

APOLOGY = "系统查询暂时有点慢"
C001 = {"customer_id": "C001"}
SCRIPTS: list[tuple[dict[str, str] | None, list[str]]] = [
    (C001, ["你好", "查一下E202611010001的物流", "那它什么时候到", "谢谢"]),
    (None, ["我的订单发货了吗", "E202611150002", "运费怎么算", "好的谢谢"]),
    (None, ["蓝牙耳机X1有货吗", "支持货到付款吗", "你是机器人吗", "再见"]),
    (C001, ["我是什么会员", "E202611120004退款到哪了", "R202611130001", "拜拜"]),
]


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "mean": round(statistics.fmean(ordered), 1),
            "n": len(ordered)}


async def pause(rng: random.Random, think_ms: float) -> None:
    if think_ms > 0:
        await asyncio.sleep(rng.uniform(0.5, 1.5) * think_ms / 1000)


async def customer(session: aiohttp.ClientSession, url: str, number: int, rounds: int,
                   latencies: list[float], errors: list[str], think_ms: float = 0) -> None:
    rng = random.Random(number)
    for round_no in range(rounds):
        metadata, turns = SCRIPTS[(number + round_no) % len(SCRIPTS)]
        sender = f"bench-{number}-{round_no}"
        for text in turns:
            await pause(rng, think_ms)
            body: dict[str, Any] = {"sender": sender, "message": text}
            if metadata:
                body["metadata"] = metadata
            started = time.perf_counter()
            try:
                async with session.post(f"{url}/webhooks/rest/webhook", json=body) as answer:
                    replies = await answer.json()
                    status = answer.status
            except Exception as error:  # a benchmark counts every failure
                errors.append(f"{text}: {type(error).__name__}")
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            texts = " ".join(r.get("text") or "" for r in replies) if isinstance(replies, list) else ""
            if status != 200 or not texts:
                errors.append(f"{text}: status {status}, {len(texts)} chars")
            elif APOLOGY in texts:
                errors.append(f"{text}: backend apology")


async def parser(session: aiohttp.ClientSession, url: str, texts: list[str], latencies: list[float],
                 errors: list[str], signer: RasaJwt, think_ms: float = 0, seed: int = 0) -> None:
    rng = random.Random(seed)
    for text in texts:
        await pause(rng, think_ms)
        headers = signer.headers()  # a cached token: signing is not what is measured
        started = time.perf_counter()
        async with session.post(f"{url}/model/parse", json={"text": text}, headers=headers) as answer:
            await answer.read()
            if answer.status != 200:
                errors.append(f"parse {text}: {answer.status}")
        latencies.append((time.perf_counter() - started) * 1000)


async def measure(url: str, settings: Settings, customers: int, rounds: int, think_ms: float = 0) -> dict[str, Any]:
    signer = RasaJwt(stored_secret(settings, "RASA_JWT_SECRET"))
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        warm: list[float] = []
        await asyncio.gather(*(customer(session, url, n + 1000, 1, warm, []) for n in range(customers)))

        turn_ms: list[float] = []
        errors: list[str] = []
        started = time.perf_counter()
        await asyncio.gather(*(customer(session, url, n, rounds, turn_ms, errors, think_ms) for n in range(customers)))
        elapsed = time.perf_counter() - started

        texts = [t for _, turns in SCRIPTS for t in turns] * max(1, rounds // 2)
        parse_ms: list[float] = []
        parse_errors: list[str] = []
        await asyncio.gather(*(parser(session, url, texts[n::customers], parse_ms, parse_errors, signer, think_ms, n)
                               for n in range(customers)))

    turn, parse = percentiles(turn_ms), percentiles(parse_ms)
    return {
        "customers": customers,
        "think_ms": think_ms,
        "turns": len(turn_ms),
        "turn_ms": turn,
        "throughput_turns_per_s": round(len(turn_ms) / elapsed, 1),
        "errors": len(errors) + len(parse_errors),
        "error_samples": (errors + parse_errors)[:5],
        "parse_ms": parse,
        "turn_to_parse_p50": round(turn["p50"] / parse["p50"], 2) if parse["p50"] else None,
        "targets": {"turn_p50_within_2x_parse_p50": turn["p50"] <= 2 * parse["p50"],
                    "turn_p95_under_150ms": turn["p95"] < 150, "zero_errors": not (errors or parse_errors)},
    }


def main(argv: list[str]) -> int:
    parser_ = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser_.add_argument("--customers", type=int, default=8)
    parser_.add_argument("--rounds", type=int, default=6)
    parser_.add_argument("--think-ms", type=float, default=1500,
                         help="mean pause before each message (people read and type); 0 = back to back")
    parser_.add_argument("--url", help="an already running Rasa server; default: start a fresh stack")
    args = parser_.parse_args(argv)
    if args.url:
        result = asyncio.run(measure(args.url.rstrip("/"), get_settings(), args.customers, args.rounds, args.think_ms))
    else:
        with tempfile.TemporaryDirectory(prefix="bench-turns-") as work, running_stack(Path(work)) as stack:
            result = asyncio.run(measure(stack.rasa_url, stack.settings, args.customers, args.rounds, args.think_ms))
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
