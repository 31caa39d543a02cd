"""A real Kubernetes control plane run as local processes.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler are the upstream
components (built by tests/ocp_sim/build.sh); kwok plays the kubelets (Nodes become Ready,
scheduled Pods Running). Everything listens on 127.0.0.1 on free ports and keeps its
data, certificates and logs in one state directory.

    with ControlPlane("/tmp/cp") as cp:
        print(cp.kubeconfig, cp.server)
        cp.restart_apiserver()

Processes are started in their own process groups and recorded in <state_dir>/state.json,
so `python -m tests.ocp_sim down` from another shell can stop them.
"""

from __future__ import annotations

import base64
import ctypes
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

import yaml

from . import pki

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
BUILD_SCRIPT = HERE / "build.sh"
KWOK_STAGES = "kwok-stages.yaml"  # beside the bin dir, from the pinned kwok module (build.sh)
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
SERVICE_CIDR = "10.96.0.0/12"
SERVICE_IP = "10.96.0.1"  # first address of SERVICE_CIDR: the `kubernetes` Service
CLUSTER_CIDR = "10.244.0.0/16"
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"

# How long start() waits for each step; generous for a loaded 2-core machine.
ETCD_TIMEOUT = 30.0
APISERVER_TIMEOUT = 90.0
DEFAULT_SA_TIMEOUT = 60.0
STOP_GRACE = 10.0
# kube-apiserver's graceful shutdown waits for open watch connections (up to its request
# timeout, 60s) while etcd and the controllers keep them open; its data is in etcd, so after
# this grace period it is killed.
APISERVER_STOP_GRACE = 3.0


class ControlPlaneError(RuntimeError):
    """Raised when a component fails to start; the message carries its log tail."""


class BinariesMissing(ControlPlaneError):
    pass


def default_state_dir() -> Path:
    return Path(os.environ.get("OCP_SIM_STATE_DIR") or REPO_ROOT / ".ocp_sim")


def find_bin_dir() -> Path:
    """The bin dir build.sh fills; raises BinariesMissing when it is not built yet."""
    env = os.environ.get("OCP_SIM_BIN_DIR")
    if env:
        d = Path(env)
    else:
        try:
            out = subprocess.run(
                ["bash", str(BUILD_SCRIPT), "--print-bindir"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise BinariesMissing(f"cannot run {BUILD_SCRIPT}: {e}") from e
        lines = out.stdout.strip().splitlines()
        if not lines:
            raise BinariesMissing(f"{BUILD_SCRIPT} --print-bindir printed nothing: {out.stderr.strip()}")
        d = Path(lines[-1])
    missing = [c for c in COMPONENTS if not os.access(d / c, os.X_OK)]
    if not (d.parent / KWOK_STAGES).is_file():
        missing.append(str(d.parent / KWOK_STAGES))
    if missing:
        raise BinariesMissing(
            f"control-plane binaries missing in {d}: {', '.join(missing)}. "
            f"Build them first: bash tests/ocp_sim/build.sh"
        )
    return d


def write_kwok_config(stages: Path, dest: Path) -> None:
    """kwok's configuration: its own default stages, except that pod-ready leaves out the operator pods of the
    generated catalogs, which start as their install latency and fault knobs say
    (openshift/controllers/operator_pods.py)."""
    docs = [d for d in yaml.safe_load_all(stages.read_text()) if d]
    (pod_ready,) = [d for d in docs if d.get("kind") == "Stage" and d["metadata"]["name"] == "pod-ready"]
    pod_ready["spec"]["selector"]["matchExpressions"].append(
        {"key": '.metadata.labels["sim.ocp/operator"]', "operator": "DoesNotExist"}
    )
    config = {"apiVersion": "config.kwok.x-k8s.io/v1alpha1", "kind": "KwokConfiguration", "options": {}}
    dest.write_text(yaml.safe_dump_all([config, *docs], sort_keys=False))


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list:
    """`count` distinct free ports: the sockets stay bound until all are picked, since the kernel may hand a port it
    just released to the next bind (two components of one control plane then got the same port)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(s)
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        data = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(data[-lines:])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as dead.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


_PR_SET_PDEATHSIG = 1
try:
    _LIBC = ctypes.CDLL(None, use_errno=True)  # loaded before fork: preexec must stay minimal
except OSError:  # pragma: no cover
    _LIBC = None


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class ControlPlane:
    """etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok on 127.0.0.1.

    die_with_parent=True makes every child get SIGKILL when this Python process dies
    (used by the pytest fixture so a killed test run leaves no orphans); the CLI leaves it
    off because its processes must outlive `up`.
    """

    #: control planes this process has started and not stopped yet (see running_here())
    _running_here: list["ControlPlane"] = []

    def __init__(self, state_dir: str | os.PathLike | None = None, bin_dir=None, die_with_parent: bool = False):
        self.state_dir = Path(state_dir) if state_dir else default_state_dir()
        self.state_dir = self.state_dir.resolve()
        self._bin_dir = Path(bin_dir) if bin_dir else None
        self.die_with_parent = die_with_parent
        self.procs: dict[str, subprocess.Popen] = {}
        self.ports: dict[str, int] = {}
        self._args: dict[str, list[str]] = {}
        self.timings: dict[str, float] = {}

    # ----------------------------------------------------------------- paths
    @property
    def bin_dir(self) -> Path:
        if self._bin_dir is None:
            self._bin_dir = find_bin_dir()
        return self._bin_dir

    @property
    def pki_dir(self) -> Path:
        return self.state_dir / "pki"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def kubeconfig(self) -> str:
        """Path of the admin kubeconfig (client cert in group system:masters)."""
        return str(self.state_dir / "kubeconfig")

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    # ------------------------------------------------------------- lifecycle
    def __enter__(self) -> "ControlPlane":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "ControlPlane":
        """Start everything and wait until the API answers and `default/default` SA exists."""
        t0 = time.monotonic()
        bin_dir = self.bin_dir  # fail before touching anything if not built
        existing = read_state(self.state_dir)
        if existing and any(_pid_alive(p["pid"]) for p in existing.get("processes", {}).values()):
            raise ControlPlaneError(
                f"a control plane is already running from {self.state_dir}; "
                f"stop it first (python -m tests.ocp_sim down)"
            )
        if self.state_dir.exists():
            shutil.rmtree(self.state_dir)
        ControlPlane._running_here.append(self)
        self.state_dir.mkdir(parents=True)
        self.log_dir.mkdir()
        names = ("etcd", "etcd_peer", "apiserver", "controller_manager", "scheduler", "kwok")
        self.ports.update(zip(names, free_ports(len(names))))
        self._write_pki()
        self._write_kubeconfigs()
        self._build_args(bin_dir)
        self._save_state()
        self.timings["prepare"] = time.monotonic() - t0
        try:
            write_kwok_config(bin_dir.parent / KWOK_STAGES, self.state_dir / "kwok.yaml")
            self._spawn("etcd")
            self._wait("etcd", self._etcd_healthy, ETCD_TIMEOUT)
            self.timings["etcd"] = time.monotonic() - t0
            self._spawn("kube-apiserver")
            self._wait("kube-apiserver", self._apiserver_ready, APISERVER_TIMEOUT)
            self.timings["kube-apiserver"] = time.monotonic() - t0
            for name in ("kube-controller-manager", "kube-scheduler", "kwok"):
                self._spawn(name)
            # The default SA appears once the controller manager's serviceaccount controller runs.
            self._wait("kube-controller-manager", self._default_sa_exists, DEFAULT_SA_TIMEOUT)
            self.timings["ready"] = time.monotonic() - t0
        except BaseException:
            self.stop(remove=False)
            raise
        self._save_state()
        return self

    def stop(self, remove: bool = False) -> None:
        """Stop every process started (or registered) for this state dir, newest first."""
        stop_recorded(self.state_dir, self.procs)
        self.procs.clear()
        if self in ControlPlane._running_here:
            ControlPlane._running_here.remove(self)
        self._save_state()
        if remove and self.state_dir.exists():
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def stop_apiserver(self, grace: float = APISERVER_STOP_GRACE) -> None:
        """Stop only kube-apiserver (SIGTERM, SIGKILL after `grace` seconds); etcd (and so
        the data) and the other components stay."""
        proc = self.procs.pop("kube-apiserver", None)
        if proc is not None:
            _terminate({"kube-apiserver": proc.pid}, {"kube-apiserver": proc}, grace=grace)
        self._save_state()

    def start_apiserver(self, timeout: float = APISERVER_TIMEOUT) -> None:
        """Start kube-apiserver again with the same port, certificates and flags."""
        if "kube-apiserver" in self.procs and self.procs["kube-apiserver"].poll() is None:
            return
        try:
            self._spawn("kube-apiserver")
            self._wait("kube-apiserver", self._apiserver_ready, timeout)
        finally:
            self._save_state()

    def restart_apiserver(self) -> None:
        self.stop_apiserver()
        self.start_apiserver()

    def register_process(self, name: str, popen: subprocess.Popen) -> None:
        """Record a process started by someone else (e.g. simulated operators) so `stop()`
        and `python -m tests.ocp_sim down` stop it too."""
        if name in COMPONENTS:
            raise ValueError(f"{name!r} is a control-plane component name")
        self.procs[name] = popen
        self._save_state()

    def spawn(self, name: str, argv: list[str], env: dict | None = None, cwd=None) -> subprocess.Popen:
        """Start `argv` as a process of this test bed: logs in logs/<name>.log, its own process group, dies with
        us under pytest, recorded so `stop()` and `down` stop it."""
        if name in COMPONENTS:
            raise ValueError(f"{name!r} is a control-plane component name")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path(name), "ab") as log:
            log.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {name}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=str(cwd or self.state_dir),
                env=dict(os.environ, **(env or {})),
                start_new_session=True,
                preexec_fn=_die_with_parent if self.die_with_parent else None,  # noqa: PLW1509
            )
        self.register_process(name, proc)
        return proc

    @classmethod
    def running_here(cls) -> list["ControlPlane"]:
        """The control planes this process started and has not stopped (whether their processes still run or not)."""
        return list(cls._running_here)

    def alive(self) -> dict[str, bool]:
        return {name: p.poll() is None for name, p in self.procs.items()}

    # ------------------------------------------------------------ internals
    def _write_pki(self) -> None:
        d = self.pki_dir
        ca = pki.CA.create(d, "ca", "ocp-sim-kubernetes-ca")
        ca.issue(
            d,
            "apiserver",
            "kube-apiserver",
            server=True,
            dns=(
                "localhost",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            ),
            ips=("127.0.0.1", SERVICE_IP),
        )
        ca.issue(d, "admin", "ocp-sim-admin", orgs=("system:masters",), client=True)
        ca.issue(d, "controller-manager", "system:kube-controller-manager", client=True)
        ca.issue(d, "scheduler", "system:kube-scheduler", client=True)
        ca.issue(d, "kwok", "ocp-sim-kwok", orgs=("system:masters",), client=True)
        # Serving certs for the components' own https ports (health/metrics).
        ca.issue(
            d,
            "controller-manager-serving",
            "kube-controller-manager",
            server=True,
            dns=("localhost",),
            ips=("127.0.0.1",),
        )
        ca.issue(d, "scheduler-serving", "kube-scheduler", server=True, dns=("localhost",), ips=("127.0.0.1",))
        ca.issue(d, "kwok-serving", "kwok", server=True, dns=("localhost",), ips=("127.0.0.1",))
        fp = pki.CA.create(d, "front-proxy-ca", "ocp-sim-front-proxy-ca")
        fp.issue(d, "front-proxy-client", "front-proxy-client", client=True)
        pki.service_account_keypair(d)

    def _kubeconfig_doc(self, user: str) -> dict:
        b64 = lambda p: base64.b64encode((self.pki_dir / p).read_bytes()).decode()  # noqa: E731
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "ocp-sim", "cluster": {"server": self.server, "certificate-authority-data": b64("ca.crt")}}
            ],
            "users": [
                {
                    "name": user,
                    "user": {"client-certificate-data": b64(f"{user}.crt"), "client-key-data": b64(f"{user}.key")},
                }
            ],
            "contexts": [{"name": "ocp-sim", "context": {"cluster": "ocp-sim", "user": user, "namespace": "default"}}],
            "current-context": "ocp-sim",
        }

    def _write_kubeconfigs(self) -> None:
        # JSON is valid YAML; every kubeconfig reader accepts it.
        for user, path in (
            ("admin", Path(self.kubeconfig)),
            ("controller-manager", self.state_dir / "controller-manager.kubeconfig"),
            ("scheduler", self.state_dir / "scheduler.kubeconfig"),
            ("kwok", self.state_dir / "kwok.kubeconfig"),
        ):
            path.write_text(json.dumps(self._kubeconfig_doc(user), indent=2) + "\n")
            os.chmod(path, 0o600)

    def _build_args(self, bin_dir: Path) -> None:
        p, s, port = self.pki_dir, self.state_dir, self.ports
        etcd_url = f"http://127.0.0.1:{port['etcd']}"
        peer_url = f"http://127.0.0.1:{port['etcd_peer']}"
        self._args["etcd"] = [
            str(bin_dir / "etcd"),
            "--name=ocp-sim",
            f"--data-dir={s / 'etcd-data'}",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=ocp-sim={peer_url}",
            "--initial-cluster-state=new",
            "--unsafe-no-fsync=true",
            "--quota-backend-bytes=4294967296",
            "--log-level=warn",
        ]
        self._args["kube-apiserver"] = [
            str(bin_dir / "kube-apiserver"),
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={port['apiserver']}",
            f"--cert-dir={s / 'apiserver-certs'}",
            f"--tls-cert-file={p / 'apiserver.crt'}",
            f"--tls-private-key-file={p / 'apiserver.key'}",
            f"--client-ca-file={p / 'ca.crt'}",
            "--authorization-mode=RBAC",
            "--allow-privileged=true",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--service-account-issuer={SA_ISSUER}",
            f"--service-account-key-file={p / 'sa.pub'}",
            f"--service-account-signing-key-file={p / 'sa.key'}",
            f"--api-audiences={SA_ISSUER}",
            # Aggregation layer (front proxy), as kubeadm configures it.
            f"--requestheader-client-ca-file={p / 'front-proxy-ca.crt'}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={p / 'front-proxy-client.crt'}",
            f"--proxy-client-key-file={p / 'front-proxy-client.key'}",
            # No kube-proxy: an aggregated API (OLM's package server) is reached through an ExternalName Service
            # naming localhost, which only the non-routing resolver follows (Endpoints may not hold loopback).
            "--enable-aggregator-routing=false",
            # No kubelets (kwok fakes them), so no kubelet client certs; logs/exec are not used.
            "--kubelet-preferred-address-types=InternalIP",
            # The `kubernetes` Service cannot get endpoints on 127.0.0.1 (loopback is invalid for
            # Endpoints), so do not try; in-cluster clients are not used here.
            "--endpoint-reconciler-type=none",
            "--profiling=false",
            "--v=1",
        ]
        common = [
            "--bind-address=127.0.0.1",
            "--leader-elect=false",
            f"--client-ca-file={p / 'ca.crt'}",
            f"--requestheader-client-ca-file={p / 'front-proxy-ca.crt'}",
            "--profiling=false",
            "--v=1",
        ]
        cm_kc = s / "controller-manager.kubeconfig"
        self._args["kube-controller-manager"] = [
            str(bin_dir / "kube-controller-manager"),
            f"--kubeconfig={cm_kc}",
            f"--authentication-kubeconfig={cm_kc}",
            f"--authorization-kubeconfig={cm_kc}",
            f"--secure-port={port['controller_manager']}",
            f"--cert-dir={s / 'controller-manager-certs'}",
            f"--tls-cert-file={p / 'controller-manager-serving.crt'}",
            f"--tls-private-key-file={p / 'controller-manager-serving.key'}",
            "--controllers=*",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={p / 'sa.key'}",
            f"--root-ca-file={p / 'ca.crt'}",
            f"--cluster-signing-cert-file={p / 'ca.crt'}",
            f"--cluster-signing-key-file={p / 'ca.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--cluster-cidr={CLUSTER_CIDR}",
            "--allocate-node-cidrs=false",
            # kwok renews every node's Lease every 10 s (see kwok below). A node marked NotReady leaves its pods
            # unready for good (kwok's pod stages never set Ready back), so a kwok starved for a while on a loaded
            # 2-core machine must not count as a dead node: 12 missed renewals, not the default 50 s.
            "--node-monitor-grace-period=2m",
            "--terminated-pod-gc-threshold=100",
            *common,
        ]
        sch_kc = s / "scheduler.kubeconfig"
        self._args["kube-scheduler"] = [
            str(bin_dir / "kube-scheduler"),
            f"--kubeconfig={sch_kc}",
            f"--authentication-kubeconfig={sch_kc}",
            f"--authorization-kubeconfig={sch_kc}",
            f"--secure-port={port['scheduler']}",
            f"--cert-dir={s / 'scheduler-certs'}",
            f"--tls-cert-file={p / 'scheduler-serving.crt'}",
            f"--tls-private-key-file={p / 'scheduler-serving.key'}",
            *common,
        ]
        self._args["kwok"] = [
            str(bin_dir / "kwok"),
            f"--kubeconfig={s / 'kwok.kubeconfig'}",
            f"--config={s / 'kwok.yaml'}",
            "--manage-all-nodes=true",
            f"--server-address=127.0.0.1:{port['kwok']}",
            f"--tls-cert-file={p / 'kwok-serving.crt'}",
            f"--tls-private-key-file={p / 'kwok-serving.key'}",
            "--node-ip=127.0.0.1",
            "--cidr=10.244.0.0/16",
            # Node Leases, as kubelets keep them (40 s, renewed every 10 s): without them the node lifecycle
            # controller only sees kwok's rare status heartbeats (its node stages) and marks every node NotReady.
            "--node-lease-duration-seconds=40",
        ]

    def _spawn(self, name: str) -> subprocess.Popen:
        log = open(self.log_path(name), "ab")
        log.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {name}\n".encode())
        log.flush()
        env = dict(os.environ)
        env.pop("KUBECONFIG", None)
        env["HOME"] = str(self.state_dir)  # kwok & co. must not read/write ~/.kube
        try:
            proc = subprocess.Popen(
                self._args[name],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.state_dir,
                env=env,
                start_new_session=True,
                # A single prctl() call; start() runs from one thread.
                preexec_fn=_die_with_parent if self.die_with_parent else None,  # noqa: PLW1509
            )
        finally:
            log.close()
        self.procs[name] = proc
        self._save_state()
        return proc

    def _wait(self, name: str, check: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_err = ""
        while True:
            for pname, proc in self.procs.items():
                if proc.poll() is not None:
                    raise ControlPlaneError(
                        f"{pname} exited with code {proc.returncode} while waiting for {name}; "
                        f"last lines of {self.log_path(pname)}:\n{log_tail(self.log_path(pname))}"
                    )
            try:
                if check():
                    return
            except (OSError, urllib.error.URLError, ssl.SSLError, ValueError) as e:
                last_err = str(e)
            if time.monotonic() > deadline:
                raise ControlPlaneError(
                    f"{name} not ready after {timeout:.0f}s (last check error: {last_err or 'none'}); "
                    f"last lines of {self.log_path(name)}:\n{log_tail(self.log_path(name))}"
                )
            time.sleep(0.2)

    def _etcd_healthy(self) -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ports['etcd']}/health", timeout=2) as r:
            return json.load(r).get("health") == "true"

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.pki_dir / "ca.crt"))
        ctx.load_cert_chain(str(self.pki_dir / "admin.crt"), str(self.pki_dir / "admin.key"))
        return ctx

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        """GET an API path as admin; returns (status, body), HTTP errors included."""
        try:
            with urllib.request.urlopen(self.server + path, context=self.ssl_context(), timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def _apiserver_ready(self) -> bool:
        return self.get("/readyz", timeout=3)[0] == 200

    def _default_sa_exists(self) -> bool:
        return self.get("/api/v1/namespaces/default/serviceaccounts/default", timeout=3)[0] == 200

    def _save_state(self) -> None:
        if not self.state_dir.exists():
            return
        previous = read_state(self.state_dir) or {}
        processes = {}
        for name, proc in self.procs.items():
            if proc.poll() is None:
                try:
                    pgid = os.getpgid(proc.pid)
                except ProcessLookupError:
                    continue
                processes[name] = {
                    "pid": proc.pid,
                    # Only signal the group when the process leads its own group.
                    "pgid": pgid if pgid == proc.pid and pgid != os.getpgrp() else None,
                    "cmdline": _cmdline(proc.pid)[:300],
                }
        state = {
            "state_dir": str(self.state_dir),
            "bin_dir": str(self._bin_dir) if self._bin_dir else previous.get("bin_dir"),
            "kubeconfig": self.kubeconfig,
            "server": self.server if "apiserver" in self.ports else None,
            "ports": self.ports,
            "args": self._args,
            "processes": processes,
            "owner_pid": os.getpid(),
        }
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self.state_file)

    @classmethod
    def attach(cls, state_dir=None) -> "ControlPlane":
        """A handle on a control plane started by another process (e.g. `up`).

        It can restart kube-apiserver and register more processes; `stop()` stops all
        recorded processes by pid.
        """
        state_dir = Path(state_dir) if state_dir else default_state_dir()
        state = read_state(state_dir)
        if not state:
            raise ControlPlaneError(f"no control plane state in {state_dir}")
        cp = cls(state_dir, bin_dir=state.get("bin_dir"))
        cp.ports = state["ports"]
        cp._args = state["args"]
        for name, info in state.get("processes", {}).items():
            if _pid_alive(info["pid"]):
                cp.procs[name] = _ForeignProcess(info["pid"])
        return cp


class _ForeignProcess:
    """Minimal Popen stand-in for a process we did not start (no wait status available)."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None and not _pid_alive(self.pid):
            self.returncode = -1
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.05)
        return self.returncode


def read_state(state_dir) -> dict | None:
    try:
        return json.loads((Path(state_dir) / "state.json").read_text())
    except (OSError, ValueError):
        return None


def _process_table() -> dict[int, tuple[int, str]]:
    """{pid: (ppid, start time)} of every process on the machine."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            table[int(entry)] = (int(fields[1]), fields[19])  # fields 4 (ppid) and 22 (starttime) of stat(5)
    return table


def _descendants(roots) -> set[tuple[int, str]]:
    """(pid, start time) of every descendant of `roots`, the roots excluded."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _start) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), list(roots)
    while todo:
        for child in children.get(todo.pop(), ()):
            found.add((child, table[child][1]))
            todo.append(child)
    return found


def _terminate(
    pids: dict[str, int],
    popens: dict[str, object] | None = None,
    pgids: dict[str, int | None] | None = None,
    grace: float = STOP_GRACE,
) -> None:
    """SIGTERM each process (its group when it leads one), then SIGKILL after a grace period."""
    popens = popens or {}
    pgids = pgids or {}
    # A child that left its parent's process group (or a parent that leads none) is not reached by the group
    # signals below; it gets SIGKILL at the end unless it is gone by then.
    descendants = _descendants(pids.values())

    def signal_one(name: str, sig: int) -> None:
        pid, pgid = pids[name], pgids.get(name)
        try:
            if pgid:
                os.killpg(pgid, sig)
            else:
                os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def gone(name: str) -> bool:
        p = popens.get(name)
        if p is not None:
            return p.poll() is not None
        return not _pid_alive(pids[name])

    for name, pid in pids.items():
        if pgids.get(name) is None and name in popens and hasattr(popens[name], "pid"):
            try:
                pg = os.getpgid(pid)
                if pg == pid and pg != os.getpgrp():
                    pgids[name] = pg
            except ProcessLookupError:
                pass
        signal_one(name, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and not all(gone(n) for n in pids):
        time.sleep(0.1)
    for name in pids:
        if not gone(name):
            signal_one(name, signal.SIGKILL)
        elif pgids.get(name):  # leftovers in the group (children of the leader)
            try:
                os.killpg(pgids[name], signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    table = _process_table()
    for pid, start in descendants:
        if table.get(pid, (None, None))[1] == start:  # still the same process, not a reused pid
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    for name in pids:
        p = popens.get(name)
        if p is not None:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def stop_recorded(state_dir, popens: dict[str, object] | None = None) -> list[str]:
    """Stop the processes recorded in state_dir (plus `popens`), newest first.

    A recorded pid is only signalled if its command line still looks like the process we
    recorded (pids get reused).
    """
    popens = dict(popens or {})
    state = read_state(state_dir) or {}
    pids: dict[str, int] = {}
    pgids: dict[str, int | None] = {}
    for name, info in state.get("processes", {}).items():
        pid = info["pid"]
        if not _pid_alive(pid):
            continue
        recorded = info.get("cmdline", "")
        if recorded and _cmdline(pid)[:300].split(" ")[0] != recorded.split(" ")[0]:
            continue
        pids[name] = pid
        pgids[name] = info.get("pgid")
    for name, p in popens.items():
        if p.poll() is None:
            pids[name] = p.pid
    # Extra processes (registered later) first, then the control plane in reverse order.
    order = [n for n in pids if n not in COMPONENTS]
    order += [n for n in reversed(COMPONENTS) if n in pids]
    _terminate({n: pids[n] for n in order}, popens, {n: pgids.get(n) for n in order})
    return order


def running(state_dir) -> dict[str, bool]:
    state = read_state(state_dir) or {}
    return {name: _pid_alive(info["pid"]) for name, info in state.get("processes", {}).items()}


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: python -m tests.ocp_sim up|down|status|env")
