"""A plain `reflex run` on other ports, without make's environment, finds the repo's bun."""

import os
import subprocess
import sys
import time

import pytest

from ephem.core.migrations import upgrade
from tests.support.live_app import ROOT, START_TIMEOUT, _wait, free_port, seed_web, stop_process

BUN = ROOT / ".tools/bun/node_modules/.bin/bun"
pytestmark = pytest.mark.skipif(not BUN.exists(), reason=f"no bun at {BUN}: `make setup` installs it")


def _new_user_env(tmp) -> dict[str, str]:
    """The shell of someone who cloned the repo: none of make's REFLEX_ variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REFLEX_", "EPHEM_"))}
    return {**env, "EPHEM_SECRET": "rxconfig-test-secret-0123456789", "REFLEX_DB_URL": f"sqlite:///{tmp / 'app.db'}"}


def test_reflex_uses_the_repo_bun_without_reflex_bun_path(tmp_path):
    code = "from reflex.utils import path_ops; print(path_ops.get_bun_path())"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_new_user_env(tmp_path), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == str(BUN.absolute())


def test_reflex_bun_path_still_wins(tmp_path):
    code = "from reflex_base.config import get_config; print(get_config().bun_path)"
    env = {**_new_user_env(tmp_path), "REFLEX_BUN_PATH": sys.executable}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == sys.executable


def test_reflex_run_on_other_ports_as_the_readme_says(tmp_path):
    env = _new_user_env(tmp_path)
    upgrade(env["REFLEX_DB_URL"])
    # Its own `.web` and `.states`: the `live` app may be running from the repo's.
    seed_web(tmp_path / "web")
    env |= {"REFLEX_WEB_WORKDIR": str(tmp_path / "web"), "REFLEX_STATES_WORKDIR": str(tmp_path / "states")}
    frontend, backend = free_port(), free_port()
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/reflex"), "run", "--frontend-port", str(frontend), "--backend-port", str(backend)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        _wait(f"http://localhost:{backend}/api/health", proc, log, deadline)
        _wait(f"http://localhost:{frontend}", proc, log, deadline)
    finally:
        stop_process(proc)
