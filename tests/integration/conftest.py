"""Integration fixtures: a fresh store built from ../shared/data/fits and a
running `voserver serve` on a free loopback port, talked to by real clients."""
import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
FITS_DIR = SHARED / "data" / "fits"
VOSERVER = Path(os.environ.get("VOSERVER", ROOT / "build" / "voserver"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(directory: Path, port: int) -> Path:
    cfg = directory / "voserver.toml"
    cfg.write_text(f"""
[server]
host = "127.0.0.1"
port = {port}
base_url = "http://127.0.0.1:{port}"
threads = 4

[archive]
authority = "voserver.test"
title = "voserver integration test archive"
database = "{directory / 'store.sqlite'}"

[limits]
maxrec_default = 10000
maxrec_hard = 1000000

[[collection]]
name = "samples"
directories = ["{FITS_DIR}"]
description = "Real FITS products from ../shared/data/fits"
""")
    return cfg


@contextlib.contextmanager
def running_server(cfg: Path, port: int, work: Path):
    """Runs `voserver serve --config cfg --port port` (log in work/server.log)
    until the block ends; yields its base URL once /tap/availability answers."""
    log = open(work / "server.log", "w")
    proc = subprocess.Popen([str(VOSERVER), "serve", "--config", str(cfg), "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(base + "/tap/availability", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None:
                raise RuntimeError("voserver exited: " + (work / "server.log").read_text())
            time.sleep(0.1)
        else:
            raise RuntimeError("voserver did not answer /tap/availability")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def archive(tmp_path_factory):
    """Builds a store from ../shared/data/fits, starts the server, yields its base URL."""
    assert VOSERVER.exists(), "build/voserver missing: run scripts/setup"
    assert FITS_DIR.is_dir(), f"{FITS_DIR} missing"
    work = tmp_path_factory.mktemp("archive")
    port = free_port()
    cfg = write_config(work, port)
    ingest = subprocess.run([str(VOSERVER), "ingest", str(FITS_DIR), "--collection", "samples",
                             "--config", str(cfg)], capture_output=True, text=True, timeout=300)
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    with running_server(cfg, port, work) as base:
        yield {"base": base, "tap": base + "/tap", "ingest_output": ingest.stdout + ingest.stderr,
               "config": cfg, "work": work}
