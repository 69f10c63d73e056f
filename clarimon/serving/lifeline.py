"""Child processes that end with the process that started them, however it ends (even `kill -9`)."""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import threading


def die_with_parent() -> None:
    """Exit when the parent process dies: a thread waits on the parent's sentinel, then ends this process.

    The kernel's parent-death signal (prctl PR_SET_PDEATHSIG) is not used: it fires when the *thread* that
    started the child ends, and clarimon starts workers from short-lived threads."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="clarimon-lifeline").start()
