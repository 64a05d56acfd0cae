"""A real nginx with the gateway's configuration (deploy/compose/nginx.conf), pointed at
local upstreams instead of compose's service names, in a folder of its own: what the
gateway tests and the contract test through the gateway run."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

import httpx

from tests.support.processes import REPO, free_port


@contextmanager
def running_gateway(directory: Path, upstreams: Mapping[str, str], cors_origins: tuple[str, ...] = (),
                    ) -> Iterator[str]:
    """Yields the gateway's base URL. `upstreams`: service name → host:port; a service not
    named keeps no upstream (its location answers 502)."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    assert nginx, "nginx is missing; scripts/bootstrap installs it"
    (directory / "temp").mkdir(exist_ok=True)
    (directory / "temp").chmod(0o1777)
    port = free_port()
    conf = (REPO / "deploy" / "compose" / "nginx.conf").read_text(encoding="utf-8")
    conf = re.sub(r"^pid .*$", f"pid {directory}/nginx.pid;", conf, flags=re.M)
    conf = re.sub(r"^error_log .*$", f"error_log {directory}/error.log warn;", conf, flags=re.M)
    conf = conf.replace("access_log /dev/stdout gateway;", "access_log off;")
    conf = re.sub(r"^\s*resolver.*$", "", conf, flags=re.M)
    conf = conf.replace("/var/cache/nginx/", f"{directory}/temp/")
    conf = conf.replace("listen 8080 default_server;", f"listen 127.0.0.1:{port} default_server;")
    conf = re.sub(r"set \$upstream (\w+)-api:\d+;",
                  lambda m: f"set $upstream {upstreams.get(m.group(1), '127.0.0.1:9')};", conf)
    (directory / "nginx.conf").write_text(conf, encoding="utf-8")
    console = (REPO / "deploy" / "compose" / "console.conf").read_text(encoding="utf-8")
    (directory / "console.conf").write_text(console.replace("root /usr/share/nginx/html;", f"root {directory}/html;"),
                                            encoding="utf-8")
    (directory / "cors-origins.map").write_text("".join(f'"{o}" $http_origin;\n' for o in cors_origins),
                                                encoding="utf-8")
    args = [nginx, "-c", str(directory / "nginx.conf"), "-p", str(directory)]
    check = subprocess.run([*args, "-t"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen([*args, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
