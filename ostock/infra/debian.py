"""Programs from Debian's packages: found on the PATH, installed with apt-get if missing."""

import os
import shutil
import subprocess

INSTALL_TIMEOUT_S = 600.0


def ensure_program(program: str, package: str) -> str:
    """Return the path of `program`, installing Debian's `package` if it is missing."""
    path = shutil.which(program)
    if path is not None:
        return path
    install = [["apt-get", "update"], ["apt-get", "install", "-y", package]]
    commands = " && ".join(" ".join(command) for command in install)
    if os.geteuid() != 0:
        raise RuntimeError(f"{program} is missing; install it as root: {commands}")
    print(f"{program} is missing; running: {commands}", flush=True)
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in install:
        subprocess.run(command, check=True, timeout=INSTALL_TIMEOUT_S, env=environment)
    path = shutil.which(program)
    if path is None:
        raise RuntimeError(f"{program} still missing after installing Debian's {package}")
    return path
