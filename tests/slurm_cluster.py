"""A real one-node SLURM cluster for tests: munge, slurmctld and slurmd started by hand.

Everything lives in a
scratch folder of the test's own, except slurm.conf/gres.conf: Snakemake's SLURM jobstep
executor strips SLURM_* variables (SLURM_CONF included) before its inner `srun`, so the
configuration must sit where every Slurm command looks by default, /etc/slurm. The files are
marked as ours and removed at teardown; a slurm.conf that is not ours is never touched.
Every daemon is stopped by the PID it wrote, also when the test fails.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

ETC = Path("/etc/slurm")
MARK = "# written by tower's tests/slurm_cluster.py"
DAEMONS = {"munged": "/usr/sbin/munged", "slurmctld": "/usr/sbin/slurmctld", "slurmd": "/usr/sbin/slurmd"}


class ClusterError(RuntimeError):
    pass


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid):
    """Running and not a zombie (daemons re-parent to PID 1, which may never reap them here)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _mem_mb():
    with open("/proc/meminfo") as f:
        kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    return int(kb / 1024 * 0.9)


class SlurmCluster:
    def __init__(self, root, gpus=1):
        self.root = Path(root)
        self.gpus = gpus
        self.pidfiles = {}
        self.created = []

    # --- configuration ------------------------------------------------------------
    def _conf(self):
        r = self.root
        ctl_port, d_port = _free_port(), _free_port()
        files = ",".join(["/dev/null", "/dev/zero", "/dev/full", "/dev/random"][: self.gpus])
        slurm_conf = f"""{MARK}
ClusterName=towerci
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctl_port}
SlurmdPort={d_port}
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={r}/munge/munge.socket
CredType=cred/munge
MpiDefault=none
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool/slurmd-%n
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/slurmctld.log
SlurmdLogFile={r}/slurmd.log
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
MinJobAge=300
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={_mem_mb()} Gres=gpu:{self.gpus} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""
        # a GPU line without File= is dropped and drains the node (slurm-notes.md)
        gres_conf = f"{MARK}\nNodeName=localhost Name=gpu File={files}\n"
        return slurm_conf, gres_conf

    def _write_etc(self, name, text):
        path = ETC / name
        if path.exists() and MARK not in path.read_text(errors="replace"):
            raise ClusterError(f"{path} exists and is not ours; refusing to replace a real cluster's config")
        ETC.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.created.append(path)

    # --- lifecycle ----------------------------------------------------------------
    def start(self, timeout=60):
        for exe in DAEMONS.values():
            if not Path(exe).exists():
                raise ClusterError(f"{exe} is missing: run `bash setup.sh` (installs slurmctld slurmd munge)")
        r = self.root
        munge_dir = r / "munge"
        for d in (r / "state", r / "spool", munge_dir):
            d.mkdir(parents=True, exist_ok=True)
        r.chmod(0o755)
        slurm = pwd.getpwnam("slurm")
        munge = pwd.getpwnam("munge")
        for d in (r / "state", r / "spool"):
            os.chown(d, slurm.pw_uid, slurm.pw_gid)
        os.chown(munge_dir, munge.pw_uid, munge.pw_gid)
        munge_dir.chmod(0o711)  # munged insists: owned by munge, traversable by clients
        slurm_conf, gres_conf = self._conf()
        self._write_etc("slurm.conf", slurm_conf)
        self._write_etc("gres.conf", gres_conf)

        key = munge_dir / "munge.key"
        self._run(["runuser", "-u", "munge", "--", "/usr/sbin/mungekey", "--create", f"--keyfile={key}"])
        self.pidfiles["munged"] = munge_dir / "munged.pid"
        self._run(
            [
                "runuser",
                "-u",
                "munge",
                "--",
                DAEMONS["munged"],
                f"--socket={munge_dir}/munge.socket",
                f"--key-file={key}",
                f"--pid-file={munge_dir}/munged.pid",
                f"--log-file={munge_dir}/munged.log",
                f"--seed-file={munge_dir}/seed",
            ]
        )
        self._wait_for(lambda: (munge_dir / "munge.socket").exists(), "munged's socket", timeout)
        self.pidfiles["slurmctld"] = r / "slurmctld.pid"
        self._run([DAEMONS["slurmctld"]])
        self.pidfiles["slurmd"] = r / "slurmd.pid"
        self._run([DAEMONS["slurmd"], "-N", "localhost"])
        self._wait_for(self._node_idle, "the node to become idle (see slurmctld.log)", timeout)
        return self

    def _node_idle(self):
        proc = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
        return proc.returncode == 0 and proc.stdout.strip() == "idle"

    def _run(self, cmd):
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise ClusterError(f"{' '.join(cmd)} failed: {proc.stderr.strip()}\n{self.logs()}")

    def _wait_for(self, check, what, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.3)
        raise ClusterError(f"timed out waiting for {what}\n{self.logs()}")

    def logs(self):
        out = []
        for name in ("slurmctld.log", "slurmd.log", "munge/munged.log"):
            path = self.root / name
            if path.exists():
                out.append(f"--- {name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-15:]))
        return "\n".join(out)

    def stop(self):
        """Cancel jobs, then stop each daemon we started by its PID; remove our config files."""
        if shutil.which("scancel") and any(ETC.joinpath("slurm.conf") == p for p in self.created):
            subprocess.run(["scancel", "--full", "-u", "root"], capture_output=True)
        for name in ("slurmd", "slurmctld", "munged"):
            pidfile = self.pidfiles.get(name)
            if not pidfile or not pidfile.exists():
                continue
            try:
                pid = int(pidfile.read_text().strip())
                os.kill(pid, signal.SIGTERM)
                for _ in range(50):
                    if not _alive(pid):
                        break
                    time.sleep(0.1)
                else:
                    os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        for path in self.created:
            if path.exists() and MARK in path.read_text(errors="replace"):
                path.unlink()
        self.created.clear()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
