import fs from "node:fs";
import path from "node:path";

// Reads a V8 .cpuprofile (node --cpu-prof) and sums self time per function and per code
// origin (our src/, a dependency, node internals), so a bench run can say where a
// component spends its CPU without opening DevTools.

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileLine {
  name: string;
  selfMs: number;
  share: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  topFunctions: ProfileLine[];
  byOrigin: ProfileLine[];
}

/** Where a frame's code comes from: a dependency, our own module, node internals, or a V8 bucket. */
export function originOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === "") {
    // V8's synthetic nodes: (garbage collector), (program), (idle), and native builtins.
    return functionName.startsWith("(") ? functionName : "(native)";
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (url.startsWith("node:")) {
    const m = /^node:(?:internal\/)?([^/]+)/.exec(url);
    return `node:${m ? m[1] : url.slice(5)}`;
  }
  const ours = /\/dist\/(.+)\.js$/.exec(url);
  if (ours) return `paas:${path.dirname(ours[1])}/${path.basename(ours[1])}`;
  return url;
}

export function summarizeProfile(profile: CpuProfile, file: string, top = 15): ProfileSummary {
  const selfUs = new Map<number, number>();
  if (profile.samples && profile.timeDeltas && profile.samples.length === profile.timeDeltas.length) {
    // Each sample's time is the delta to the next sample.
    for (let i = 0; i < profile.samples.length; i++) {
      const dt = profile.timeDeltas[i + 1] ?? 0;
      selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + Math.max(dt, 0));
    }
  } else {
    const hits = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0) || 1;
    const per = (profile.endTime - profile.startTime) / hits;
    for (const n of profile.nodes) selfUs.set(n.id, (n.hitCount ?? 0) * per);
  }
  const byFn = new Map<string, number>();
  const byOrigin = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const us = selfUs.get(n.id) ?? 0;
    if (us === 0) continue;
    const origin = originOf(n.callFrame);
    if (origin === "(idle)") continue;
    total += us;
    const fn = n.callFrame.functionName || "(anonymous)";
    const where = n.callFrame.url ? ` ${origin}:${n.callFrame.lineNumber + 1}` : "";
    const key = `${fn}${where}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + us);
  }
  const lines = (m: Map<string, number>): ProfileLine[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000, share: total > 0 ? us / total : 0 }));
  return { file, totalMs: total / 1000, topFunctions: lines(byFn), byOrigin: lines(byOrigin) };
}

/** Summaries of every .cpuprofile in a directory (one per process that wrote one). */
export function summarizeProfileDir(dir: string, top = 15): ProfileSummary[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .map((f) => {
      const file = path.join(dir, f);
      return summarizeProfile(JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile, file, top);
    });
}

export function formatProfile(s: ProfileSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;
  const out = [`CPU profile ${s.file} (${(s.totalMs / 1000).toFixed(1)}s of non-idle samples)`];
  out.push("  self time by origin:");
  for (const l of s.byOrigin) out.push(`    ${pct(l.share)}  ${l.name}`);
  out.push("  top functions by self time:");
  for (const l of s.topFunctions) out.push(`    ${pct(l.share)}  ${l.name}`);
  return out.join("\n");
}
