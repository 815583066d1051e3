"""A watchdog for user-written JSONata: evaluation in a worker process that is killed when late.

Why a process: jsonata-python has no guard that works (its ``Timebox`` measures from the moment
the expression was compiled and leaks its depth count after an error), a deadline checked from
``sys.settrace`` made evaluation 3.8x slower, one checked from the engine's private per-step hook
1.2x slower, and no in-process check can stop work done inside C code such as a catastrophic
regular expression (``$match("aaaa…!", /(a+)+b/)``). A process can always be killed, and the notebook's kernel
never shares its stack, its memory or its fate.

Cost, measured on a 2-core machine: about 0.08 s to start the worker (once, and again after each
kill, which only a runaway causes) and the trip of each page's JSON text through a pipe, about
1-2 ms for a 1,000-message page (1 MB): 2-3 % of jsonata-python's 80 ms for that page, about as
much as jlens's own 2 ms. A parsed body is written as JSON first (cut down to the fields the
expression reads, for jlens), which costs more than the trip: pass the raw text where there is one.

One worker per Python process serves every custom expression, one request at a time, on
either engine (``twibox_nb.evaluate.engines`` chooses): jsonata-python, or jlens (the fast engine), whose
own limits end most runaways with a clean error before the watchdog has to kill anything. Its
limits alone are not enough to run it in the notebook's process: ``$distinct``, ``$keys`` and
``$zip`` on large arrays run for minutes without ever checking its deadline.

Memory: each request carries the memory its evaluation may take (``twibox_nb.evaluate.limits``),
which the worker sets as its own address-space limit. Past it, jsonata-python raises
``MemoryError`` and jlens aborts the worker (``SIGABRT``): both come back as an error of type
``"memory"``, and the worker is replaced (a fresh one starts for the next request), so that no
half-freed heap outlives the request. Without it, ``$pad("x", 1000000000)`` or
``$count([1..6].[[1..10000000]])`` took 1.5-2.5 GB before finishing "successfully".

Requests and answers carry JSON text, not Python objects: a page body that arrives as text goes
to the worker as it is, and the fast engine reads only the fields the expression uses.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

_WORKER_SCRIPT = Path(__file__).with_name("worker.py")
_SIGABRT = getattr(signal, "SIGABRT", 6)
# Starting Python and importing jsonata-python takes ~0.1 s; a loaded CI machine may need far more.
STARTUP_TIMEOUT = 30.0
# Run the script with neither its own folder nor the working directory on sys.path, where a module
# named like a standard one (twibox_nb/… or a notebook's json.py) would shadow it.
_BOOT = "import sys, runpy; del sys.path[0]; runpy.run_path(sys.argv[1], run_name='__main__')"


class _Watchdog:
    """Kills the worker when an answer is late: one thread for every request (a timer thread per
    request cost 0.6-2 ms to start on a loaded machine, as much as jlens spends on a page)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._job: tuple[float, subprocess.Popen[bytes], threading.Event] | None = None
        self._thread: threading.Thread | None = None

    def arm(self, process: subprocess.Popen[bytes], timeout: float) -> threading.Event:
        """Kill ``process`` in ``timeout`` seconds unless disarmed; the event tells whether it was."""
        late = threading.Event()
        with self._changed:
            self._job = (time.monotonic() + timeout, process, late)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._watch, name="twibox-jsonata-watchdog", daemon=True)
                self._thread.start()
            self._changed.notify()
        return late

    def disarm(self) -> None:
        with self._changed:
            self._job = None
            self._changed.notify()

    def _watch(self) -> None:
        with self._changed:
            while True:
                if self._job is None:
                    self._changed.wait()
                    continue
                deadline, process, late = self._job
                remaining = deadline - time.monotonic()
                if remaining > 0:
                    self._changed.wait(remaining)
                    continue
                self._job = None
                late.set()
                process.kill()


class _Worker:
    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._watchdog = _Watchdog()  # one request at a time (the lock): one deadline at a time
        self.fast: bool | None = None  # whether the running worker could import the fast engine
        self.memory: bool | None = None  # whether the running worker can limit its own memory

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
        # RUST_BACKTRACE=0: a jlens that runs out of memory aborts at once, without walking its stack.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "RUST_BACKTRACE": "0"}
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
            self.fast = bool(hello.get("fast"))
            self.memory = bool(hello.get("memory"))
            return process
        self.stop()
        if "error" in hello and hello["error"]["type"] not in ("timeout", "crash"):
            return hello["error"]
        message = "the JSONata worker process did not start: " + (hello["error"]["message"] or "no answer")
        return {"type": "crash", "code": None, "position": None, "message": message}

    def _read(
        self, process: subprocess.Popen[bytes], timeout: float, request: bytes = b"", payload: bytes = b""
    ) -> dict[str, Any]:
        """Send ``request`` and ``payload`` (if any) and read one answer, killing the worker when it is late.

        An answer is one JSON line, followed by ``size`` bytes of result JSON text when it says
        ``{"size": n}``: that text comes back parsed, as ``{"result": value}``.
        """
        # The watchdog covers writing too: a worker that stopped reading cannot block us.
        late = self._watchdog.arm(process, timeout)
        try:
            assert process.stdin is not None and process.stdout is not None
            try:
                if request:
                    process.stdin.write(request)
                    process.stdin.write(payload)
                    process.stdin.flush()
                line = process.stdout.readline()
                result = b""
                if line.startswith(b'{"size"'):
                    size = json.loads(line)["size"]
                    result = process.stdout.read(size)
                    if len(result) != size:  # cut off: the worker died or was killed
                        line = b""
            except (OSError, ValueError):  # pipe closed under us: the worker died or was killed
                line = b""
        except BaseException:
            # Interrupted (KeyboardInterrupt in a notebook): the worker may still be busy with
            # this request and would answer it to the next caller, so it must go.
            self.stop()
            raise
        finally:
            self._watchdog.disarm()
        if line:
            if late.is_set():  # answered just as the timer fired: keep the answer, not the worker
                self.stop()
            answer = json.loads(line)
            if "size" in answer:
                return {"result": json.loads(result)}
            return answer
        try:  # its output is closed: it is exiting, or gone (poll() alone may ask too early)
            exit_code = process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            exit_code = None
        self.stop()
        if late.is_set():
            return {"error": {"type": "timeout", "code": None, "position": None, "message": ""}}
        message = f"the JSONata worker process stopped unexpectedly (exit code {exit_code})"
        return {"error": {"type": "crash", "code": None, "position": None, "message": message, "exit": exit_code}}

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

    def evaluate(
        self,
        text: str,
        payload: bytes,
        timeout: float,
        *,
        engine: str = "python",
        limits: dict[str, Any] | None = None,
        memory: int | None = None,
        check: bool = False,
    ) -> dict[str, Any]:
        """Evaluate ``text`` on ``payload`` (JSON text): ``{"result": …}`` or ``{"error": description}``.

        A description has ``type`` (``"timeout"``, ``"crash"`` and ``"memory"`` are the guard's
        own), ``code``, ``position`` and ``message``. ``engine`` is ``"python"`` (jsonata-python)
        or ``"fast"`` (jlens, evaluated with ``limits``); asking for the fast engine in a worker
        that could not import it is a ``crash``. ``memory``: the bytes the evaluation may take
        (None: no limit). ``check``: only compile ``text`` (``{"result": True}`` when it compiles).
        """
        header = {"expr": text, "engine": engine, "limits": limits or {}, "memory": memory, "check": check,
                  "size": len(payload)}  # fmt: skip
        request = json.dumps(header).encode("utf-8") + b"\n"
        with self._lock:
            for _attempt in range(2):
                process = self._start()
                if isinstance(process, dict):
                    return {"error": process}
                if engine == "fast" and not self.fast:
                    message = "the JSONata worker process could not import the fast engine (jlens)"
                    return {"error": {"type": "crash", "code": None, "position": None, "message": message}}
                limited = memory is not None and self.memory
                answer = self._read(process, timeout, request, payload)
                error = answer.get("error", {})
                if limited and error.get("type") == "MemoryError":  # answered, but its heap goes too
                    self.stop()
                    answer = {"error": {**error, "type": "memory", "message": "MemoryError in jsonata-python"}}
                elif limited and error.get("type") == "crash" and error.get("exit") == -_SIGABRT:
                    # Rust (jlens) aborts the process when an allocation fails: past the limit.
                    message = "the worker aborted when an allocation failed"
                    answer = {"error": {**error, "type": "memory", "message": message}}
                # A worker that died between requests (killed from outside) fails the next one
                # without having seen it: try once more with a fresh worker.
                if answer.get("error", {}).get("type") != "crash":
                    break
            return answer


_WORKER = _Worker()
atexit.register(_WORKER.stop)


#: Evaluate a JSONata expression on JSON text in the shared worker process, stopping it after
#: ``timeout`` s or past ``memory`` bytes (``check``: compile it only); see :meth:`_Worker.evaluate`.
evaluate_guarded = _WORKER.evaluate
