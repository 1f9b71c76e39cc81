"""A stand-in for nixpkgs' NixOS test driver that runs a test script without VMs.

Reads JSON on stdin: the script, a work folder, and per host its address and the (port, source
address) pairs its firewall opens. Each machine records the units waited for and the commands
run; a TCP connection from one host to another succeeds when the target's firewall opens that
port to the caller's address; HTTP answers are canned (a session cookie at sign-up; 200 for
/health and with a cookie, else 401). Prints JSON: per machine what it recorded and the key files present
in its state folder when the VMs started.
"""

import json
import os
import re
import sys

spec = json.load(sys.stdin)
hosts = spec["hosts"]


class Machine:
    def __init__(self, name):
        self.name = name
        self.state_dir = os.path.join(spec["work"], f"vm-state-{name}")
        self.waited = []
        self.commands = []

    def wait_for_unit(self, unit):
        self.waited.append(unit)

    def succeed(self, command):
        self.commands.append(command)
        if "sign-up/email" in command:
            return "HTTP/1.1 200 OK\r\nset-cookie: better-auth.session_token=t.s; Path=/; HttpOnly\r\n"
        if "%{http_code}" in command:
            return "200" if "cookie:" in command or "/health" in command else "401"
        return ""

    def execute(self, command):
        self.commands.append(command)
        target = re.search(r"/dev/tcp/([^/]+)/(\d+)", command)
        if target is None:
            return (0, "")
        host, port = target.group(1), int(target.group(2))
        source = hosts[self.name]["address"]
        opened = [port, source] in hosts[host]["openings"]
        return (0, "") if opened else (124, "")


machines = [Machine(name) for name in sorted(hosts)]
keys_at_start = {}


def start_all():
    for machine in machines:
        folder = os.path.join(machine.state_dir, "stackr-keys")
        present = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
        keys_at_start[machine.name] = {
            name: oct(os.stat(os.path.join(folder, name)).st_mode & 0o777) for name in present
        }


os.environ["TMPDIR"] = spec["work"]
exec(spec["script"], {"machines": machines, "start_all": start_all, "__name__": "testScript"})
json.dump(
    {
        m.name: {"waited": m.waited, "commands": m.commands, "keys": keys_at_start.get(m.name)}
        for m in machines
    },
    sys.stdout,
)
