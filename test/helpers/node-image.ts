import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);
/** The repository (this file may also run compiled under dist-bench/). */
const ROOT = ((dir: string) => {
  while (!fs.existsSync(path.join(dir, "package.json")) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
})(import.meta.dirname);

let built: Promise<string> | undefined;

/**
 * The swarm tests' node image (test/fixtures/swarm-node: Debian's docker.io FROM the local
 * base image), built once and kept: its build.sh returns `paas-test/swarm-node:<recipe>` at
 * once when the image exists (scripts/setup.sh builds it on a fresh machine), else builds it.
 */
export function swarmNodeImage(): Promise<string> {
  built ??= exec("bash", [path.join(ROOT, "test/fixtures/swarm-node/build.sh")], {
    maxBuffer: 16 << 20,
  }).then(
    ({ stdout }) => stdout.trim().split("\n").pop() ?? "",
    (err: Error & { stderr?: string }) => {
      built = undefined;
      throw new Error(`building the swarm node image failed:\n${err.stderr ?? err.message}`);
    },
  );
  return built;
}

/** Docker 20.10's capability names, by bit (what --privileged would grant). */
const CAPS = [
  "CHOWN",
  "DAC_OVERRIDE",
  "DAC_READ_SEARCH",
  "FOWNER",
  "FSETID",
  "KILL",
  "SETGID",
  "SETUID",
  "SETPCAP",
  "LINUX_IMMUTABLE",
  "NET_BIND_SERVICE",
  "NET_BROADCAST",
  "NET_ADMIN",
  "NET_RAW",
  "IPC_LOCK",
  "IPC_OWNER",
  "SYS_MODULE",
  "SYS_RAWIO",
  "SYS_CHROOT",
  "SYS_PTRACE",
  "SYS_PACCT",
  "SYS_ADMIN",
  "SYS_BOOT",
  "SYS_NICE",
  "SYS_RESOURCE",
  "SYS_TIME",
  "SYS_TTY_CONFIG",
  "MKNOD",
  "LEASE",
  "AUDIT_WRITE",
  "AUDIT_CONTROL",
  "SETFCAP",
  "MAC_OVERRIDE",
  "MAC_ADMIN",
  "SYSLOG",
  "WAKE_ALARM",
  "BLOCK_SUSPEND",
  "AUDIT_READ",
];

/**
 * HostConfig for a container that runs an engine of its own. `Privileged` when this host can
 * grant it; where the host's capability bounding set lacks one Docker would grant (on this
 * CI VM: CAP_SYS_RESOURCE, so runc refuses a privileged container with "unable to apply
 * caps"), the same by parts: every capability the host has, seccomp, AppArmor and /proc
 * unconfined, every device allowed (the image's entrypoint remounts /sys and the cgroups
 * writable).
 */
export function privilegedHostConfig(): Record<string, unknown> {
  const status = fs.readFileSync("/proc/self/status", "utf8");
  const bounding = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? "0"}`);
  const last = Number(fs.readFileSync("/proc/sys/kernel/cap_last_cap", "utf8"));
  const all = (1n << BigInt(last + 1)) - 1n;
  if ((bounding & all) === all) return { Privileged: true };
  const have = CAPS.filter((_, bit) => (bounding >> BigInt(bit)) & 1n);
  return {
    CapAdd: have,
    SecurityOpt: ["seccomp=unconfined", "apparmor=unconfined", "label=disable"],
    // The API's form of --security-opt systempaths=unconfined.
    MaskedPaths: [],
    ReadonlyPaths: [],
    DeviceCgroupRules: ["a *:* rwm"],
  };
}
