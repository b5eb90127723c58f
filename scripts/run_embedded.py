"""Start 小智客服 in embedded mode: action server :5055, desk :5006 and Rasa server :5005.

Waits until each answers, prints where to talk to the bot, and stops everything on Ctrl-C
(or when one of the processes dies). Rasa and the action server start locked
(scripts/serve_rasa.py, scripts/serve_actions.py): the secrets they share are generated under
var/ first, and no secret is ever on a command line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.startup import checked_secrets, install_scrubbing  # noqa: E402
from service.settings import SettingsError, load_settings  # noqa: E402

BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "xiaozhi.tar.gz"
START_TIMEOUT_S = 300
DEMO_DAY = "2026-11-21"


def services(host: str, rasa_port: int, actions_port: int, desk_port: int) -> dict[str, tuple[list[str], str]]:
    """name: (command, health URL). Rasa's "/" needs no token and answers once the model is loaded."""
    return {
        "actions": (
            [str(BIN / "python"), "scripts/serve_actions.py", "--port", str(actions_port)],
            f"http://{host}:{actions_port}/health",
        ),
        "desk": ([str(BIN / "python"), "-m", "desk"], f"http://{host}:{desk_port}/health"),
        "rasa": (
            [str(BIN / "python"), "scripts/serve_rasa.py", "run", "--model", str(MODEL),
             "--interface", host, "--port", str(rasa_port),
             "--credentials", "credentials.yml", "--endpoints", "endpoints.yml"],
            f"http://{host}:{rasa_port}/",
        ),
    }


def wait_until_up(url: str, process: subprocess.Popen[bytes], deadline: float) -> bool:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(1)
    return False


def main() -> int:
    install_scrubbing()
    host = os.environ.get("XIAOZHI_HOST", "127.0.0.1")
    rasa_port = int(os.environ.get("RASA_PORT", "5005"))
    actions_port = int(os.environ.get("ACTIONS_PORT", "5055"))
    desk_port = int(os.environ.get("DESK_PORT", "5006"))
    os.environ.setdefault("DESK_HOST", host)
    os.environ.setdefault("DESK_PORT", str(desk_port))
    os.environ.setdefault("DESK_URL", f"http://{host}:{desk_port}")
    os.environ.setdefault("RASA_URL", f"http://{host}:{rasa_port}")
    os.environ.setdefault("ACTIONS_HOST", host)
    # The demo shop's orders are seeded around 2026-11-21: on that business day (at today's time of day) the
    # README's walk-through reads true whenever it is run. XIAOZHI_TODAY= (empty) uses the real date.
    os.environ.setdefault("XIAOZHI_TODAY", DEMO_DAY)
    try:
        settings = load_settings()
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        checked_secrets(settings, "RASA_JWT_SECRET", "ACTION_SERVER_TOKEN")  # generated once, before the processes race
    except SettingsError as exc:
        print(f"run_embedded: {exc}", file=sys.stderr)
        return 2
    if not MODEL.exists():
        print(f"No trained model at {MODEL}; run `make train` first.", file=sys.stderr)
        return 1
    processes: dict[str, subprocess.Popen[bytes]] = {}

    def stop(*_: object) -> None:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()

    def stop_and_exit(*_: object) -> None:
        stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop_and_exit)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        for name, (command, health) in services(host, rasa_port, actions_port, desk_port).items():
            print(f"starting {name}: {' '.join(command[1:4])} …", flush=True)
            processes[name] = subprocess.Popen(command, cwd=ROOT)
            if not wait_until_up(health, processes[name], deadline):
                print(f"{name} did not come up; see its output above.", file=sys.stderr)
                stop()
                return 1
        base = f"http://{host}:{rasa_port}"
        print(f"""
小智客服 is running (embedded mode).
  REST:       curl -s {base}/webhooks/rest/webhook -H 'Content-Type: application/json' \\
                -d '{{"sender": "demo", "message": "查一下E202611010001的物流", "metadata": {{"customer_id": "C001"}}}}'
  socket.io:  {base}/socket.io  (events user_uttered / bot_uttered)
  Rasa API:   curl -s {base}/status -H "Authorization: Bearer $(.venv/bin/python -m desk.rasa_client)"
  actions:    http://{host}:{actions_port}/health
  desk:       http://{host}:{desk_port}/docs  (staff API; demo logins agent1 / agent2 / supervisor)
  console:    http://{host}:{desk_port}/console/  (agents work handed-off chats here)
Press Ctrl-C to stop.""", flush=True)
        while True:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with code {process.returncode}; stopping.", file=sys.stderr)
                    stop()
                    return process.returncode or 1
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nstopping …")
        stop()
        return 0


if __name__ == "__main__":
    sys.exit(main())
