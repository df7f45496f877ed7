"""Shared by the Ctrl-C tests: run code in a fresh interpreter and interrupt it.

A process started in the background by a non-interactive shell (`cmd &`, nohup, some CI
runners) inherits SIGINT ignored, and Python then leaves it ignored: Ctrl-C would never reach
the code under test. These tests therefore install Python's handler themselves, in the child
(DEFAULT_SIGINT, run first) or around the test (default_sigint()).
"""

import contextlib
import os
import signal
import subprocess
import sys
import time

DEFAULT_SIGINT = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)"


@contextlib.contextmanager
def default_sigint():
    """Python's SIGINT handler (KeyboardInterrupt) while the block runs, whatever was inherited."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def interrupted_after(code, delay=0.5, limit=20.0, setup=""):
    """Run code in a fresh interpreter, send SIGINT after delay seconds; return (seconds from
    the signal to the exit, stderr). Generous limits: the test machine may be loaded.

    setup (imports, data) runs before the clock starts, so that on a slow machine the signal
    still lands in code, not in an import."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"{DEFAULT_SIGINT}\n{setup}\n"
            f"import sys; sys.stderr.write('ready\\n'); sys.stderr.flush(); {code}",
        ],
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stderr.readline() == b"ready\n"
        time.sleep(delay)
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=limit)
        return time.monotonic() - start, err.decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
