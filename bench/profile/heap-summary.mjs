// Groups the objects of a V8 heap snapshot (`v8.writeHeapSnapshot`, `node --heapsnapshot-signal`)
// by constructor name and sums their self sizes; given a snapshot from before and one from
// after N connections were opened, prints what each connection added, biggest first.
//
//   node bench/profile/heap-summary.mjs after.heapsnapshot
//   node bench/profile/heap-summary.mjs after.heapsnapshot --before before.heapsnapshot --per 2000
//   node bench/profile/heap-summary.mjs ... --top 40
//
// Keys: an object's constructor name (`SessionState`, `Object`, `Timeout`), `closure <name>`
// for functions (so per-instance arrow functions show up by name), `native <name>`, and
// `<type>: <name>` for V8 internals (contexts, arrays of properties, maps). Strings and heap
// numbers are grouped by type. Self size only: what an object holds through references is
// counted at the referenced objects.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const STRING_TYPES = new Set(['string', 'concatenated string', 'sliced string']);

function keyOf(type, name) {
  if (type === 'object') return name;
  if (type === 'closure') return `closure ${name || '(anonymous)'}`;
  if (type === 'native') return `native ${name}`;
  if (STRING_TYPES.has(type)) return '(string)';
  if (type === 'number' || type === 'heap number') return '(heap number)';
  const short = name.length > 60 ? `${name.slice(0, 57)}...` : name;
  return `${type}: ${short}`;
}

/** Reads a .heapsnapshot and returns Map<key, { count, size }> of its nodes. */
export async function summarizeHeapSnapshot(path) {
  const snap = JSON.parse(await readFile(path, 'utf8'));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const { nodes, strings, edges } = snap;
  // The backing stores of objects' out-of-object properties and elements are named after
  // their owner, so that a dictionary-mode object shows up as such.
  const owner = new Map();
  const iEdges = fields.indexOf('edge_count');
  const edgeFields = snap.snapshot.meta.edge_fields;
  const edgeWidth = edgeFields.length;
  const iTo = edgeFields.indexOf('to_node');
  let e = 0;
  for (let i = 0; i < nodes.length; i += width) {
    const end = e + nodes[i + iEdges] * edgeWidth;
    if (types[nodes[i + iType]] === 'object') {
      for (; e < end; e += edgeWidth) {
        const to = edges[e + iTo];
        if (types[nodes[to + iType]] !== 'array') continue;
        const name = strings[nodes[to + iName]];
        if (name === '(object properties)' || name === '(object elements)')
          owner.set(to, strings[nodes[i + iName]]);
      }
    }
    e = end;
  }
  const byKey = new Map();
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + iType]];
    if (type === 'synthetic') continue;
    const of = owner.get(i);
    const name = strings[nodes[i + iName]];
    const key = of === undefined ? keyOf(type, name) : `${name} of ${of}`;
    const entry = byKey.get(key);
    if (entry === undefined) byKey.set(key, { count: 1, size: nodes[i + iSize] });
    else {
      entry.count++;
      entry.size += nodes[i + iSize];
    }
  }
  return byKey;
}

/** Rows of `after - before`, divided by `per`, biggest byte delta first. */
export function diffSummaries(before, after, per = 1) {
  const rows = [];
  const keys = new Set([...after.keys(), ...before.keys()]);
  for (const key of keys) {
    const a = after.get(key) ?? { count: 0, size: 0 };
    const b = before.get(key) ?? { count: 0, size: 0 };
    rows.push({ key, count: (a.count - b.count) / per, bytes: (a.size - b.size) / per });
  }
  rows.sort((x, y) => y.bytes - x.bytes);
  return rows;
}

/** A markdown table of the top `top` rows and the total over all rows. */
export function formatRows(rows, top = 30, unit = 'per conn') {
  const total = rows.reduce((sum, r) => sum + r.bytes, 0);
  const lines = [`| object (constructor / type) | count ${unit} | bytes ${unit} |`, '| --- | ---: | ---: |'];
  for (const r of rows.slice(0, top))
    lines.push(`| ${r.key} | ${r.count.toFixed(2)} | ${r.bytes.toFixed(0)} |`);
  lines.push(`| **all objects** | | **${total.toFixed(0)}** |`);
  return lines.join('\n');
}

async function main() {
  const args = process.argv.slice(2);
  const flag = (name) => {
    const i = args.indexOf(name);
    return i === -1 ? undefined : args[i + 1];
  };
  const valued = new Set(['--before', '--per', '--top']);
  const files = args.filter((a, i) => !a.startsWith('--') && !valued.has(args[i - 1]));
  if (files.length !== 1) {
    console.error(
      'usage: heap-summary.mjs after.heapsnapshot [--before before.heapsnapshot] [--per N] [--top K]',
    );
    process.exitCode = 2;
    return;
  }
  const per = Number(flag('--per') ?? 1);
  const top = Number(flag('--top') ?? 30);
  const beforePath = flag('--before');
  const after = await summarizeHeapSnapshot(files[0]);
  const before = beforePath === undefined ? new Map() : await summarizeHeapSnapshot(beforePath);
  console.log(formatRows(diffSummaries(before, after, per), top, per === 1 ? '' : `/ ${per}`));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
