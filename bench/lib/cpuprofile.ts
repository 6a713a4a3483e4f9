/** Reading V8 .cpuprofile files (`node --cpu-prof`): self and total time by function and by module. */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Row {
  name: string;
  where: string;
  /** Microseconds. */
  self: number;
  total: number;
}

export interface ProfileSummary {
  /** Profiled wall time, µs. */
  durationUs: number;
  /** Time in samples other than (idle), µs. */
  busyUs: number;
  /** Rows leave (idle) out: they are shares of busy time. */
  functions: Row[];
  modules: Row[];
}

/** Where a frame's code lives: a Tollgate file, an npm package, a Node internal module, or V8. */
export function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return url;
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    return `npm:${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const dist = path.lastIndexOf('/dist/');
  if (dist >= 0) return `tollgate:${path.slice(dist + 1)}`;
  return path;
}

function shortWhere(url: string, line: number): string {
  if (!url) return '';
  const m = moduleOf(url, '');
  const file = url.split('/').pop() ?? url;
  const at = `${line + 1}`;
  if (m.startsWith('npm:')) return `${m.slice(4)}/…/${file}:${at}`;
  if (m.startsWith('tollgate:')) return `${m.slice('tollgate:'.length)}:${at}`;
  return `${url}:${at}`;
}

export function summarise(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const fnKey = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'}\u0000${shortWhere(n.callFrame.url, n.callFrame.lineNumber)}`;
  const modKey = (n: ProfileNode) => moduleOf(n.callFrame.url, n.callFrame.functionName);

  const fnSelf = new Map<string, number>();
  const fnTotal = new Map<string, number>();
  const modSelf = new Map<string, number>();
  const modTotal = new Map<string, number>();
  let busy = 0;
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);

  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0; // the interval after a sample belongs to it
    const leaf = byId.get(profile.samples[i]!);
    if (!leaf) continue;
    if (leaf.callFrame.functionName === '(idle)') continue;
    busy += dt;
    add(fnSelf, fnKey(leaf), dt);
    add(modSelf, modKey(leaf), dt);
    const seenFn = new Set<string>();
    const seenMod = new Set<string>();
    for (let n: ProfileNode | undefined = leaf; n; n = byId.get(parent.get(n.id) ?? -1)) {
      if (n.callFrame.functionName === '(root)') break;
      const f = fnKey(n);
      if (!seenFn.has(f)) {
        seenFn.add(f);
        add(fnTotal, f, dt);
      }
      const m = modKey(n);
      if (!seenMod.has(m)) {
        seenMod.add(m);
        add(modTotal, m, dt);
      }
    }
  }
  const rows = (self: Map<string, number>, total: Map<string, number>, split: boolean): Row[] =>
    [...new Set([...self.keys(), ...total.keys()])]
      .map((k) => {
        const [name, where] = split ? k.split('\u0000') : [k, ''];
        return { name: name!, where: where ?? '', self: self.get(k) ?? 0, total: total.get(k) ?? 0 };
      })
      .sort((a, b) => b.self - a.self || b.total - a.total);
  return {
    durationUs: profile.endTime - profile.startTime,
    busyUs: busy,
    functions: rows(fnSelf, fnTotal, true),
    modules: rows(modSelf, modTotal, false),
  };
}
