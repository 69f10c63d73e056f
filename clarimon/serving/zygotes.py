"""Warm parents that fork boxed processes: a model's worker starts as a fork of a process that imported its
runtime's libraries once, so that its pages are shared with every other worker of that runtime.

A zygote is started with `subprocess` (never forked from the server, which has threads and secrets) with the
box's environment, imports the modules it is given, then forks a child per request. It runs as the server's
user and only clarimon's code: each child takes the box's user before it runs a model's (so the interpreter and
libraries need not be readable by that user beyond what the model itself imports). The server sends a
request over a Unix socket with two descriptors: the child's end of its pipe to the server, and the write end of
a pipe the child holds open while it lives (its sentinel: the server's end reads EOF when it is gone). The child
resets what the zygote changed, caps its memory, and runs the target function on the pipe (`module:function`,
called with the pipe as a multiprocessing Connection).

Zygotes and their children end with the server: each watches the read end of a pipe whose write end only the
server holds.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import traceback
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from clarimon.serving import boxes
from clarimon.serving.lifeline import PROCESSES

log = logging.getLogger("clarimon.zygotes")

START_SECONDS = 120  # importing a runtime's libraries on a loaded host
FORK_SECONDS = 30


class ZygoteFailed(RuntimeError):
    """A zygote could not be started or did not fork; the message says why."""


class Child:
    """A process forked by a zygote: its pid, its pipe to the server, and whether it still runs."""

    def __init__(self, pid: int, connection: Connection, sentinel: int) -> None:
        self.pid = pid
        self.connection = connection
        self.sentinel = sentinel  # readable (EOF) once the process is gone
        self._closed = False
        self._lock = threading.Lock()  # the sentinel is not closed while it is looked at

    def is_alive(self) -> bool:
        """Whether the process runs."""
        with self._lock:
            return not self._closed and not wait([self.sentinel], 0)

    def join(self, timeout: float | None = None) -> bool:
        """Wait up to `timeout` seconds for the process to end; whether it has."""
        return self._closed or bool(wait([self.sentinel], timeout))

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send the process `sig` (SIGKILL) unless it is gone."""
        if self.is_alive():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        """Release the pipe and the sentinel (the process is not waited for)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self.connection.close()
            os.close(self.sentinel)


class Zygote:
    """One warm parent: started on first use with `modules` imported, in `box`'s environment, and
    started again when it died."""

    def __init__(self, modules: Sequence[str], box: boxes.Box, home: Path, keep: tuple[str, ...] = ()) -> None:
        self.modules = tuple(modules)
        self.box = box
        self.home = home
        self.keep = keep
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._socket: socket.socket | None = None
        self._lifeline: int | None = None
        self._retired: list[int] = []  # lifelines of zygotes that died, held for their children

    @property
    def pid(self) -> int | None:
        """The zygote's pid while it runs."""
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    def fork(self, target: str) -> Child:
        """A new child running `target` (`module:function`, called with its Connection to this process)."""
        with self._lock:
            try:
                return self._fork(target)
            except OSError:  # a zygote that died since its last fork is started again, once
                self._stop()
            try:
                return self._fork(target)
            except OSError as error:
                self._stop()
                raise ZygoteFailed(f"the warm parent of {', '.join(self.modules)} could not fork: {error}") \
                    from None

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        lifeline, keep_alive = os.pipe()  # the server holds keep_alive until it ends; nobody else does
        command = [sys.executable, "-m", "clarimon.serving.zygotes", str(theirs.fileno()), str(lifeline),
                   *self.modules]
        try:
            process = subprocess.Popen(
                command, env=boxes.environment(os.environ, self.home, self.keep), cwd=self.home,
                pass_fds=(theirs.fileno(), lifeline), stdin=subprocess.DEVNULL)
        except BaseException:
            ours.close()
            os.close(keep_alive)
            raise
        finally:
            theirs.close()
            os.close(lifeline)
        PROCESSES.add(process.pid)
        ours.settimeout(START_SECONDS)
        try:
            ready = ours.recv(64)
        except OSError:
            ready = b""
        if ready != b"ready":
            ours.close()
            os.close(keep_alive)
            process.kill()
            process.wait()
            PROCESSES.remove(process.pid)
            raise ZygoteFailed(f"the warm parent importing {', '.join(self.modules)} did not start "
                               f"(exit code {process.poll()}); see the server's log")
        ours.settimeout(FORK_SECONDS)
        self._process, self._socket, self._lifeline = process, ours, keep_alive
        log.info("warm parent started pid=%s modules=%s", process.pid, ",".join(self.modules))

    def _fork(self, target: str) -> Child:
        if self._process is None or self._process.poll() is not None or self._socket is None:
            self._stop()
            self._start()
        assert self._socket is not None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        sentinel, held = os.pipe()
        try:
            user = self.box.account()
            request = json.dumps({"target": target, "memory_mb": self.box.memory_mb,
                                  "user": [user.uid, user.gid] if user else None}).encode()
            socket.send_fds(self._socket, [request], [theirs.fileno(), held])
            answer = self._socket.recv(64)
        except BaseException:
            ours.close()
            os.close(sentinel)
            raise
        finally:
            theirs.close()
            os.close(held)
        if not answer.isdigit():
            ours.close()
            os.close(sentinel)
            raise OSError(f"the warm parent answered {answer!r}")
        pid = int(answer)
        PROCESSES.add(pid)
        return Child(pid, Connection(ours.detach()), sentinel)

    def stop(self) -> None:
        """End the zygote, and every process it forked that still runs."""
        with self._lock:
            self._stop(children_too=True)

    def _stop(self, children_too: bool = False) -> None:
        """End the zygote; `children_too`: close the lifeline, ending its children too (a zygote that died and is
        started again keeps its predecessor's children: their lifeline stays open until the final stop)."""
        if self._socket is not None:
            self._socket.close()
        if self._lifeline is not None:
            self._retired.append(self._lifeline)
        if children_too:
            for lifeline in self._retired:
                os.close(lifeline)
            self._retired.clear()
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            PROCESSES.remove(self._process.pid)
        self._process = self._socket = self._lifeline = None


class Zygotes:
    """The zygotes of one server, one per set of modules, all with one box and one home folder for their
    children (made in `folder` on first use, removed when they stop)."""

    def __init__(self, box: boxes.Box | None = None, folder: Path | None = None) -> None:
        self.box = box or boxes.Box()
        self.folder = folder  # where the boxes' home folder is made (None: the system's temporary folder)
        self._zygotes: dict[tuple[tuple[str, ...], tuple[str, ...]], Zygote] = {}
        self._home: Path | None = None
        self._lock = threading.Lock()

    def fork(self, modules: Sequence[str], target: str, keep: tuple[str, ...] = ()) -> Child:
        """A child of the zygote that imported `modules` (started on first use), running `target`; `keep`:
        names of the server's environment that this zygote's children need besides the allowed ones."""
        with self._lock:
            if self._home is None:
                self._home = boxes.make_home(self.box.account(), self.folder)
            key = (tuple(modules), keep)
            zygote = self._zygotes.get(key)
            if zygote is None:
                zygote = self._zygotes[key] = Zygote(modules, self.box, self._home, keep)
        return zygote.fork(target)

    def stop(self) -> None:
        """End every zygote and remove the boxes' home folder."""
        with self._lock:
            zygotes, self._zygotes = list(self._zygotes.values()), {}
            home, self._home = self._home, None
        for zygote in zygotes:
            zygote.stop()
        if home is not None:
            boxes.remove_home(home)


def _watch(lifeline: int) -> None:
    """Exit when the server's end of the lifeline closes."""

    def watch() -> None:
        select.select([lifeline], [], [])
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="clarimon-lifeline").start()


def _child(request: dict[str, Any], fds: list[int], control: socket.socket, lifeline: int) -> None:
    code = 1
    try:
        control.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the model's own subprocesses are waited for as usual
        signal.signal(signal.SIGINT, signal.default_int_handler)
        connection_fd, held = fds
        os.set_inheritable(held, False)  # a program the model runs does not keep its worker "alive"
        _watch(lifeline)
        boxes.limit_memory(int(request["memory_mb"]))
        if request["user"]:
            boxes.become(*request["user"])
        module, _, name = str(request["target"]).partition(":")
        getattr(importlib.import_module(module), name)(Connection(connection_fd))
        code = 0
    except SystemExit as end:
        code = end.code if isinstance(end.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main(argv: Sequence[str]) -> None:
    """A zygote: import the modules, say ready, then fork a child per request until the server goes."""
    control = socket.socket(fileno=int(argv[0]))
    lifeline = int(argv[1])
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel; the server watches them
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C meant for the server; the lifeline ends this one
    for module in argv[2:]:
        try:
            importlib.import_module(module)
        except ImportError:  # a runtime's library that is not installed: its model fails to load, saying so
            continue
    control.send(b"ready")
    while True:
        readable, _, _ = select.select([control.fileno(), lifeline], [], [])
        if lifeline in readable:
            os._exit(0)
        message, fds, _, _ = socket.recv_fds(control, 65536, 2)
        if not message:
            os._exit(0)
        pid = os.fork()
        if pid == 0:
            _child(json.loads(message), fds, control, lifeline)
        for fd in fds:
            os.close(fd)
        control.send(str(pid).encode())


if __name__ == "__main__":
    main(sys.argv[1:])
