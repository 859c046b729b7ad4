/**
 * Static renderings of a dispatch snapshot for places without the JupyterLab
 * extension: `text/html` (an inline SVG graph with statuses) and
 * `text/plain`. Pure functions of the snapshot, no DOM and no Node APIs, so
 * the kernel and the extension can share them. Notebooks keep the last
 * rendering, so a colleague without the kernel still sees how a run ended.
 */
import type { DispatchSnapshot, NodeView, StatusName } from './messages';

export const STATUS_COLORS: Record<StatusName, { fill: string; stroke: string; text: string }> = {
  NEW_OBJECT: { fill: '#f3f4f6', stroke: '#9ca3af', text: '#374151' },
  QUEUED: { fill: '#e0f2fe', stroke: '#0891b2', text: '#164e63' },
  RUNNING: { fill: '#dbeafe', stroke: '#2563eb', text: '#1e3a8a' },
  CANCELLING: { fill: '#fef3c7', stroke: '#d97706', text: '#78350f' },
  COMPLETED: { fill: '#dcfce7', stroke: '#16a34a', text: '#14532d' },
  FAILED: { fill: '#fee2e2', stroke: '#dc2626', text: '#7f1d1d' },
  CANCELLED: { fill: '#e5e7eb', stroke: '#4b5563', text: '#111827' },
};

const NODE_W = 168;
const NODE_H = 44;
const GAP_X = 24;
const GAP_Y = 40;
const PAD = 12;

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Layer of each node: the longest chain of dependencies above it. */
export function layerNodes(nodes: NodeView[]): Map<number, number> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const layer = new Map<number, number>();
  const visiting = new Set<number>();
  const visit = (id: number): number => {
    const known = layer.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0; // a cycle cannot happen in a lattice; do not loop if it does
    visiting.add(id);
    const deps = (byId.get(id)?.dependsOn ?? []).filter((d) => byId.has(d));
    const l = deps.length === 0 ? 0 : Math.max(...deps.map(visit)) + 1;
    visiting.delete(id);
    layer.set(id, l);
    return l;
  };
  for (const n of nodes) visit(n.id);
  return layer;
}

function truncate(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '\u2026' : s;
}

export function countByStatus(snapshot: DispatchSnapshot): Partial<Record<StatusName, number>> {
  const counts: Partial<Record<StatusName, number>> = {};
  for (const n of snapshot.nodes) counts[n.status] = (counts[n.status] ?? 0) + 1;
  return counts;
}

function countsText(snapshot: DispatchSnapshot): string {
  return Object.entries(countByStatus(snapshot))
    .map(([s, c]) => `${c} ${s.toLowerCase()}`)
    .join(', ');
}

/** An inline SVG of the graph, one box per node, coloured by status. */
export function renderDispatchSvg(snapshot: DispatchSnapshot): string {
  const nodes = snapshot.nodes;
  const layer = layerNodes(nodes);
  const rows: NodeView[][] = [];
  for (const n of nodes) (rows[layer.get(n.id)!] ??= []).push(n);
  const widest = Math.max(1, ...rows.map((r) => r?.length ?? 0));
  const width = PAD * 2 + widest * NODE_W + (widest - 1) * GAP_X;
  const height = PAD * 2 + Math.max(1, rows.length) * NODE_H + Math.max(0, rows.length - 1) * GAP_Y;
  const pos = new Map<number, { x: number; y: number }>();
  rows.forEach((row, r) => {
    if (!row) return;
    const rowWidth = row.length * NODE_W + (row.length - 1) * GAP_X;
    const x0 = (width - rowWidth) / 2;
    row.forEach((n, i) => pos.set(n.id, { x: x0 + i * (NODE_W + GAP_X), y: PAD + r * (NODE_H + GAP_Y) }));
  });
  const edges: string[] = [];
  for (const n of nodes) {
    const to = pos.get(n.id)!;
    for (const d of n.dependsOn) {
      const from = pos.get(d);
      if (!from) continue;
      edges.push(
        `<line x1="${from.x + NODE_W / 2}" y1="${from.y + NODE_H}" x2="${to.x + NODE_W / 2}" y2="${to.y - 2}" stroke="#6b7280" stroke-width="1.5" marker-end="url(#ct-arrow)"/>`,
      );
    }
  }
  const boxes = nodes.map((n) => {
    const p = pos.get(n.id)!;
    const c = STATUS_COLORS[n.status] ?? STATUS_COLORS.NEW_OBJECT;
    const title = `${n.name} (#${n.id}) ${n.status}${n.executor ? ` on ${n.executor}` : ''}${n.error ? `: ${n.error}` : ''}${n.cancelDetail ? ` (${n.cancelDetail})` : ''}`;
    const dash = n.kind === 'sublattice' ? ' stroke-dasharray="5 3"' : '';
    return (
      `<g data-node-id="${n.id}" data-status="${n.status}"><title>${escapeHtml(title)}</title>` +
      `<rect x="${p.x}" y="${p.y}" width="${NODE_W}" height="${NODE_H}" rx="6" fill="${c.fill}" stroke="${c.stroke}" stroke-width="2"${dash}/>` +
      `<text x="${p.x + NODE_W / 2}" y="${p.y + 18}" text-anchor="middle" font-size="13" font-family="sans-serif" fill="${c.text}">${escapeHtml(truncate(n.name, 22))}</text>` +
      `<text x="${p.x + NODE_W / 2}" y="${p.y + 35}" text-anchor="middle" font-size="10" font-family="monospace" fill="${c.text}">${escapeHtml(truncate(`${n.status}${n.executor ? ' \u00b7 ' + n.executor : ''}`, 28))}</text></g>`
    );
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(`Graph of dispatch ${snapshot.dispatchId}`)}">` +
    `<defs><marker id="ct-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#6b7280"/></marker></defs>` +
    edges.join('') +
    boxes.join('') +
    `</svg>`
  );
}

/** Shown beside the status of a dispatch whose process exited before it finished. */
const ORPHANED_NOTE = 'orphaned: its process exited; cancel it to stop what is left';

/** `text/html` fallback: a header line and the SVG graph. */
export function renderDispatchHtml(snapshot: DispatchSnapshot): string {
  const c = STATUS_COLORS[snapshot.status] ?? STATUS_COLORS.NEW_OBJECT;
  return (
    `<div class="covalent-ts-dispatch" data-dispatch-id="${escapeHtml(snapshot.dispatchId)}" data-status="${snapshot.status}">` +
    `<div style="font-family:sans-serif;font-size:13px;margin-bottom:4px">` +
    `<b>${escapeHtml(snapshot.name)}</b> <code>${escapeHtml(snapshot.dispatchId)}</code> ` +
    `<span style="background:${c.fill};color:${c.text};border:1px solid ${c.stroke};border-radius:3px;padding:0 4px">${snapshot.status}</span> ` +
    (snapshot.orphaned ? `<span style="color:#b91c1c">${ORPHANED_NOTE}</span> ` : '') +
    `<span style="color:#6b7280">${escapeHtml(countsText(snapshot))}</span></div>` +
    renderDispatchSvg(snapshot) +
    `</div>`
  );
}

/** `text/plain` rendering: a summary line and one line per task. */
export function renderDispatchText(snapshot: DispatchSnapshot): string {
  const status = snapshot.orphaned ? `${snapshot.status} (${ORPHANED_NOTE})` : snapshot.status;
  const lines = [`Dispatch ${snapshot.dispatchId} (${snapshot.name}): ${status}${snapshot.nodes.length ? ` \u2014 ${countsText(snapshot)}` : ''}`];
  for (const n of snapshot.nodes) {
    let line = `  #${n.id} ${n.name}: ${n.status}`;
    if (n.cancelOutcome) line += ` (cancel: ${n.cancelOutcome})`;
    if (n.error) line += ` \u2014 ${truncate(n.error.split('\n')[0], 120)}`;
    lines.push(line);
  }
  return lines.join('\n');
}
