"""Run one command and start it again whenever it exits: `python -m tests.ocp_sim.supervise NAME -- CMD ARGS...`.

OLM's processes are meant to be restarted by their Deployment (its labeller may exit 0 once by design). The test
bed has no kubelet for them, so this does that job. The command dies with the supervisor (PR_SET_PDEATHSIG), and
SIGTERM is passed on to it, so stopping the supervisor's process group stops both.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

from tests.ocp_sim.controlplane import _die_with_parent

#: a command that keeps failing is restarted at most this often
MIN_INTERVAL = 2.0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv or argv.index("--") != 1 or len(argv) < 3:
        print("usage: python -m tests.ocp_sim.supervise NAME -- CMD [ARGS...]", file=sys.stderr)
        return 2
    name, cmd = argv[0], argv[2:]
    stop = threading.Event()
    child = None

    def terminate(signum, _frame):
        stop.set()
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    while not stop.is_set():
        started = time.monotonic()
        child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)  # noqa: PLW1509
        code = child.wait()
        if stop.is_set():
            break
        print("supervise: {0} exited with code {1}; starting it again".format(name, code), flush=True)
        stop.wait(max(0.0, MIN_INTERVAL - (time.monotonic() - started)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
