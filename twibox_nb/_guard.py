"""A watchdog for user-written JSONata: evaluation in a worker process that is killed when late.

Why a process: jsonata-python has no guard that works (its ``Timebox`` measures from the moment
the expression was compiled and leaks its depth count after an error), a deadline checked from
``sys.settrace`` made evaluation 3.8x slower, one checked from the engine's private per-step hook
1.2x slower, and no in-process check can stop work done inside C code such as a catastrophic
regular expression (``$match("aaaa…!", /(a+)+b/)``). A process can always be killed, and the notebook's kernel
never shares its stack, its memory or its fate.

Cost, measured on a 2-core machine: about 0.08 s to start the worker (once, and again after each
kill, which only a runaway causes) and the JSON round trip of each page through a pipe: 0.7 ms on
a 50-record page (3 ms in process), 7 ms on a 1,000-message page (57 ms in process), i.e. 10-25 %.

One worker per Python process serves every custom expression, one request at a time.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

_WORKER_SCRIPT = Path(__file__).with_name("_jsonata_worker.py")
# Starting Python and importing jsonata-python takes ~0.1 s; a loaded CI machine may need far more.
STARTUP_TIMEOUT = 30.0
# Run the script with neither its own folder nor the working directory on sys.path, where a module
# named like a standard one (twibox_nb/… or a notebook's json.py) would shadow it.
_BOOT = "import sys, runpy; del sys.path[0]; runpy.run_path(sys.argv[1], run_name='__main__')"


class _Worker:
    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen[bytes] | dict[str, Any]:
        """The running worker, started (and waited for) if needed, or an error description."""
        if self._process is not None and self._process.poll() is None:
            return self._process
        self.stop()
        # The child sees the modules the parent sees, even where the parent's sys.path was
        # extended at run time (a notebook that appended a folder).
        paths = [p for p in sys.path if p]
        if os.environ.get("PYTHONPATH"):
            paths.append(os.environ["PYTHONPATH"])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(_WORKER_SCRIPT)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,  # answers, errors included, come through stdout
                env=env,
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
            )
        except OSError as exc:  # no usable interpreter (an embedded Python) or no processes allowed
            message = f"could not start the JSONata worker process ({sys.executable!r}): {exc}"
            return {"type": "crash", "code": None, "position": None, "message": message}
        self._process = process
        # Startup is not the expression's fault: it has its own, generous deadline.
        hello = self._read(process, STARTUP_TIMEOUT)
        if hello.get("ready"):
            return process
        self.stop()
        if "error" in hello and hello["error"]["type"] not in ("timeout", "crash"):
            return hello["error"]
        message = "the JSONata worker process did not start: " + (hello["error"]["message"] or "no answer")
        return {"type": "crash", "code": None, "position": None, "message": message}

    def _read(self, process: subprocess.Popen[bytes], timeout: float, request: bytes = b"") -> dict[str, Any]:
        """Send ``request`` (if any) and read one answer, killing the worker when it is late."""
        late = threading.Event()

        def expire() -> None:
            late.set()
            process.kill()

        # The timer covers writing too: a worker that stopped reading cannot block us.
        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            assert process.stdin is not None and process.stdout is not None
            try:
                if request:
                    process.stdin.write(request)
                    process.stdin.flush()
                line = process.stdout.readline()
            except (OSError, ValueError):  # pipe closed under us: the worker died or was killed
                line = b""
        except BaseException:
            # Interrupted (KeyboardInterrupt in a notebook): the worker may still be busy with
            # this request and would answer it to the next caller, so it must go.
            self.stop()
            raise
        finally:
            timer.cancel()
        if line:
            if late.is_set():  # answered just as the timer fired: keep the answer, not the worker
                self.stop()
            return json.loads(line)
        exit_code = process.poll()
        self.stop()
        if late.is_set():
            return {"error": {"type": "timeout", "code": None, "position": None, "message": ""}}
        message = f"the JSONata worker process stopped unexpectedly (exit code {exit_code})"
        return {"error": {"type": "crash", "code": None, "position": None, "message": message}}

    def stop(self) -> None:
        """Kill the worker (a new one starts on the next request)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
        if process is not None:
            process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:  # closing flushes what is buffered into a pipe the dead worker left
                        pass

    def evaluate(self, text: str, body: Any, timeout: float) -> dict[str, Any]:
        """Evaluate ``text`` on ``body``: ``{"result": …}`` or ``{"error": description}``.

        A description has ``type`` (``"timeout"`` and ``"crash"`` are the guard's own), ``code``,
        ``position`` and ``message``. ``body`` must be JSON data (``TypeError`` otherwise).
        """
        request = json.dumps({"expr": text, "body": body}, allow_nan=False).encode("utf-8") + b"\n"
        with self._lock:
            for _attempt in range(2):
                process = self._start()
                if isinstance(process, dict):
                    return {"error": process}
                answer = self._read(process, timeout, request)
                # A worker that died between requests (killed from outside) fails the next one
                # without having seen it: try once more with a fresh worker.
                if answer.get("error", {}).get("type") != "crash":
                    break
            return answer


_WORKER = _Worker()
atexit.register(_WORKER.stop)


def evaluate_guarded(text: str, body: Any, timeout: float) -> dict[str, Any]:
    """Evaluate a JSONata expression in the shared worker process, stopping it after ``timeout`` s."""
    return _WORKER.evaluate(text, body, timeout)


def stop_worker() -> None:
    """Stop the shared worker process now (it restarts on demand)."""
    _WORKER.stop()
