"""A `sam local start-api` server in front of the function image, for the whole session.

scripts/local-api.sh does the work (docker engine, base image, template, `sam build`, serve);
these fixtures run it, wait for it with bounded timeouts and clean up after it.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCAL_API = ROOT / "scripts" / "local-api.sh"
SAM = ROOT / ".tools" / "sam" / "bin" / "sam"

#: Base image, image and sam build from scratch take a few minutes; serving takes seconds.
BUILD_TIMEOUT_S = float(os.environ.get("E2E_BUILD_TIMEOUT", "1800"))
START_TIMEOUT_S = float(os.environ.get("E2E_START_TIMEOUT", "180"))


def free_loopback_port() -> int:
    """A TCP port nobody listens on at 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def docker(*arguments: str) -> str:
    """Output of a docker command that may fail (cleanup must go on regardless)."""
    completed = subprocess.run(["docker", *arguments], capture_output=True, text=True, check=False)
    return completed.stdout


def tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_until_serving(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Return once `url` answers 200; fail when the server exits or the time runs out."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"sam local start-api exited ({server.returncode}):\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(1)
    pytest.fail(f"{url} did not answer within {START_TIMEOUT_S:.0f} s:\n{tail(log)}")


def stop(server: subprocess.Popen[bytes]) -> None:
    """Interrupt the server's process group (sam removes warm containers on Ctrl-C)."""
    for sig, grace_s in ((signal.SIGINT, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            return
        try:
            server.wait(timeout=grace_s)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def local_api_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This session's template, `sam build` output and logs (sessions may run side by side)."""
    return tmp_path_factory.mktemp("local-api")


@pytest.fixture(scope="session")
def built_function(local_api_directory: Path) -> Path:
    """Everything up to `sam build`, done once per session; returns the built template."""
    if not SAM.exists():
        pytest.skip(f"{SAM} is missing: run scripts/setup-dev.sh")
    log = local_api_directory / "build.log"
    environment = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PYTHON": sys.executable}
    with log.open("wb") as output:
        try:
            completed = subprocess.run(
                ["bash", str(LOCAL_API), "--build-only", "--out", str(local_api_directory)],
                cwd=ROOT,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=BUILD_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"build did not finish within {BUILD_TIMEOUT_S:.0f} s:\n{tail(log)}")
    if completed.returncode != 0:
        pytest.fail(f"scripts/local-api.sh --build-only failed:\n{tail(log)}")
    return local_api_directory / "build" / "template.yaml"


@pytest.fixture(scope="session")
def function_image(built_function: Path) -> str:
    """The image `sam build` tagged for the function."""
    match = re.search(r"^\s*ImageUri:\s*(\S+)\s*$", built_function.read_text(), re.MULTILINE)
    assert match, f"no ImageUri in {built_function}"
    return match.group(1).strip("'\"")


@pytest.fixture(scope="session")
def local_api(built_function: Path, local_api_directory: Path) -> Iterator[str]:
    """Base URL of `sam local start-api` (warm containers) on a free loopback port."""
    port = free_loopback_port()
    base_url = f"http://127.0.0.1:{port}"
    log = local_api_directory / "serve.log"
    # The function containers join a network of their own: that is how teardown finds them
    # without touching those of another session.
    network = f"titiler-e2e-{os.getpid()}-{port}"
    docker("network", "create", network)
    environment = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PYTHON": sys.executable}
    command = [
        *("bash", str(LOCAL_API), "--skip-build", "--out", str(local_api_directory)),
        *("--port", str(port), "--host", "127.0.0.1", "--", "--docker-network", network),
    ]
    with log.open("wb") as output:
        server = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_serving(f"{base_url}/healthz", server, log)
        yield base_url
    finally:
        stop(server)
        leftovers = docker("ps", "-aq", "--filter", f"network={network}").split()
        if leftovers:
            docker("rm", "-f", *leftovers)
        docker("network", "rm", network)


@pytest.fixture(scope="session")
def sam_local_api(local_api: str) -> str:
    """The same server, under the name tests/e2e/test_browser.py asks for."""
    return local_api
