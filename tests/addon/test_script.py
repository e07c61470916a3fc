from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mitmproxy.test import taddons

from wiretrim.addon.hooks import Wiretrim
from wiretrim.paths import ADDON_SCRIPT


def test_the_script_loads_one_wiretrim_addon() -> None:
    with taddons.context() as tctx:
        module = tctx.script(str(ADDON_SCRIPT))
        (addon,) = module.addons
        assert isinstance(addon, Wiretrim)  # imported from the package, not a copy in the script's module


def test_importing_the_addon_package_has_no_side_effects() -> None:
    code = ("import sys, wiretrim.addon; "
            "print(sorted(m for m in sys.modules if m.startswith(('mitmproxy', 'wiretrim'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['wiretrim', 'wiretrim.addon']"


def test_the_worker_side_does_not_import_mitmproxy() -> None:
    code = "import sys, wiretrim.addon.worker; print(any(m.startswith('mitmproxy') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


async def test_the_script_unloads_cleanly(tmp_path: Path) -> None:
    """Hot reload and unload call `done` from sync code, and stop the engine."""
    (tmp_path / "wiretrim.yaml").write_text("executor: thread\n")
    with taddons.context() as tctx:
        module = tctx.script(str(ADDON_SCRIPT))
        (addon,) = module.addons
        tctx.configure(addon, wiretrim_config=str(tmp_path / "wiretrim.yaml"), wiretrim_mode="on")
        runner = addon.setup.runner
        tctx.master.addons.remove(module)
        assert runner.closed
