"""The machine and the software a benchmark ran on, for the report's first lines."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from wiretrim import __version__
from wiretrim.paths import checkout_root


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return None


def _commit() -> str | None:
    root = checkout_root()
    if root is None:
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=5).stdout.strip()
    return out.stdout.strip() + (" + local changes" if dirty else "")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def describe() -> list[str]:
    """One line each: CPUs and model, RAM, versions, and the load when the run started."""
    ram = _ram_gb()
    commit = _commit()
    return [
        f"{cpus()} CPUs (nproc), {_cpu_model()}, {f'{ram:.1f} GB RAM' if ram else 'RAM unknown'}, "
        f"{platform.system()} {platform.release()}",
        f"Python {platform.python_version()}, mitmproxy {_version('mitmproxy')}, wiretrim {__version__}"
        + (f" ({commit})" if commit else ""),
        f"load average at start (1/5/15 min): {load()}",
    ]
