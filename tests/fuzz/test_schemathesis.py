"""Schemathesis against the real services and their OpenAPI files (issue 13, "Prove it").

Runs from its own venv (.venv-fuzz, scripts/setup_fuzz.sh: schemathesis' pins clash with
Rasa's). Bounded: FUZZ_MAX_EXAMPLES test cases per operation and phase (default 10), a fixed
seed, two workers. Every check schemathesis has runs (`--checks all`): no 5xx, documented
status codes, responses matching their schemas, schema-valid requests accepted and
schema-invalid ones rejected. Figures go to var/fuzz/<service>.json and the test output.

Both the shop and the desk must pass with zero failures. Each service's TOML file
(tests/fuzz/schemathesis-<service>.toml) names the rules its OpenAPI file cannot express and
the status they answer with. The desk runs without Rasa: where its OpenAPI file documents
502 (Rasa or the shop unreachable) that answer is expected and counted apart
(`upstream_unavailable`); any other 5xx is a server error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUZZ_BIN = ROOT / ".venv-fuzz" / "bin" / "schemathesis"
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "10"))
FIGURES = ROOT / "var" / "fuzz"
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")  # drops link-made null parameters
MISMATCH_CODES = {"ST201", "ST202", "ST103"}  # accepted invalid, rejected valid, undocumented


@pytest.fixture(scope="module")
def schemathesis_bin() -> Path:
    # Idempotent and quick once installed; CI installs it here on its first run.
    subprocess.run([str(ROOT / "scripts" / "setup_fuzz.sh")], cwd=ROOT, check=True, timeout=900)
    return FUZZ_BIN


def run_schemathesis(binary: Path, spec: Path, base_url: str, headers: dict[str, str],
                     folder: Path, config: Path | None = None) -> dict[str, Any]:
    """One bounded run; its figures: requests, 5xx, failures by code, schemathesis errors."""
    report, har = folder / "report.json", folder / "report.har"
    command = [str(binary)]
    if config is not None:
        command += ["--config-file", str(config)]
    command += ["run", str(spec), "--url", base_url, "--checks", "all",
                "--max-examples", str(MAX_EXAMPLES), "--seed", "1", "--workers", "2",
                "--no-shrink", "--report", "json,har", "--report-json-path", str(report),
                "--report-har-path", str(har), "--request-timeout", "20"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=900,
                            env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)})
    FIGURES.mkdir(parents=True, exist_ok=True)  # the run's text report stays for reading
    (FIGURES / f"{spec.parent.name}-output.txt").write_text(result.stdout + result.stderr,
                                                            encoding="utf-8")
    (folder / "output.txt").write_text(result.stdout + result.stderr, encoding="utf-8")
    if not report.exists():
        raise AssertionError(f"schemathesis did not run:\n{result.stdout[-3000:]}"
                             f"{result.stderr[-3000:]}")
    data = json.loads(report.read_text(encoding="utf-8"))
    entries = json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]
    statuses = [entry["response"]["status"] for entry in entries]
    failures = {item["code"]: item["count"] for item in data.get("failures", [])}
    return {
        "requests": len(statuses),
        "server_errors": sum(1 for status in statuses if status >= 500 and status != 502),
        "upstream_unavailable": statuses.count(502),
        "test_cases": data["test_cases"]["generated"],
        "operations": data["operations"]["tested"],
        "failures": failures,
        "failing_operations": sorted({op for item in data.get("failures", [])
                                      for op in item.get("operations", [])}),
        "mismatches": sum(count for code, count in failures.items() if code in MISMATCH_CODES),
        "errors": len(data.get("errors", [])),
        "seconds": round(data.get("running_time", 0.0), 1),
        "max_examples": MAX_EXAMPLES,
    }


def record(name: str, figures: dict[str, Any]) -> None:
    FIGURES.mkdir(parents=True, exist_ok=True)
    (FIGURES / f"{name}.json").write_text(json.dumps(figures, ensure_ascii=False, indent=2),
                                          encoding="utf-8")
    print(f"\nfuzz {name}: {json.dumps(figures, ensure_ascii=False)}", file=sys.stderr)


def test_shop_api_matches_its_openapi_file(schemathesis_bin, shop_factory, tmp_path):
    # The back office's key reaches every operation (no ownership proof needed), so the
    # fuzzer exercises the handlers, not only the proof check.
    shop = shop_factory()
    figures = run_schemathesis(schemathesis_bin, ROOT / "shop" / "openapi.yaml", shop.url,
                               {"X-Api-Key": os.environ["SHOP_ADMIN_KEY"]}, tmp_path,
                               ROOT / "tests" / "fuzz" / "schemathesis-shop.toml")
    record("shop", figures)
    assert figures["requests"] > 1000 and figures["operations"] >= 40, figures
    assert figures["server_errors"] == 0 and figures["upstream_unavailable"] == 0, figures
    assert figures["failures"] == {} and figures["errors"] == 0, (
        figures, (tmp_path / "output.txt").read_text(encoding="utf-8")[-6000:])
    assert "Traceback" not in shop.log()


def test_desk_api_matches_its_openapi_file(schemathesis_bin, tmp_path):
    # As a service (bearer token), the desk's main caller; Rasa is unreachable on purpose.
    port, token = free_port(), "fuzz-desk-token-0123456789"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DESK_API_TOKEN": token,
           "RASA_URL": "http://127.0.0.1:9", "RASA_API_TOKEN": "fuzz-rasa-token-0123456789"}
    log = open(tmp_path / "desk.log", "wb")
    desk = subprocess.Popen([sys.executable, "-m", "desk", "--host", "127.0.0.1", "--port",
                             str(port), "--db-url", f"sqlite:///{tmp_path / 'desk.sqlite'}"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/health", desk)
        figures = run_schemathesis(schemathesis_bin, ROOT / "desk" / "openapi.yaml",
                                   f"http://127.0.0.1:{port}",
                                   {"Authorization": f"Bearer {token}"}, tmp_path,
                                   ROOT / "tests" / "fuzz" / "schemathesis-desk.toml")
    finally:
        desk.terminate()
        desk.wait(timeout=15)
        log.close()
    record("desk", figures)
    assert figures["requests"] > 500 and figures["operations"] >= 20, figures
    assert figures["server_errors"] == 0, figures
    assert figures["failures"] == {} and figures["errors"] == 0, (
        figures, (tmp_path / "output.txt").read_text(encoding="utf-8")[-6000:])
    assert "Traceback" not in (tmp_path / "desk.log").read_text(encoding="utf-8",
                                                                 errors="replace")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"service exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(url)
