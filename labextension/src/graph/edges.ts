import type { GraphLayout } from './layout';

/**
 * Draws a layout's edges into the graph's SVG layer. One path for all edges and
 * one for all arrowheads keep a 1,000-node graph to two SVG nodes.
 */
export function drawEdges(svg: SVGSVGElement, layout: GraphLayout): void {
  svg.setAttribute('width', String(layout.width));
  svg.setAttribute('height', String(layout.height));
  svg.setAttribute('viewBox', `0 0 ${layout.width} ${layout.height}`);
  let d = '';
  let arrows = '';
  for (const e of layout.edges) {
    const p = e.points;
    arrows += arrowHead(p, layout.engine === 'dagre' && p.length === 2);
    if (p.length === 2 && layout.engine === 'layered') {
      // Large graphs: straight segments are several times cheaper to raster.
      d += `M${p[0].x},${p[0].y}L${p[1].x},${p[1].y}`;
    } else if (p.length === 2) {
      const midY = (p[0].y + p[1].y) / 2;
      d += `M${p[0].x},${p[0].y}C${p[0].x},${midY} ${p[1].x},${midY} ${p[1].x},${p[1].y}`;
    } else {
      d += `M${p[0].x},${p[0].y}` + p.slice(1).map(q => `L${q.x},${q.y}`).join('');
    }
  }
  svg.innerHTML = `<path class="jp-CovalentGraph-edge" d="${d}"/><path class="jp-CovalentGraph-arrows" d="${arrows}"/>`;
  svg.dataset.edgeCount = String(layout.edges.length);
  svg.dataset.arrowCount = String(layout.edges.length);
}

const ARROW_LENGTH = 9;
const ARROW_HALF_WIDTH = 4.5;

/**
 * An arrowhead at the end of an edge, pointing along its last segment (a
 * dagre curve drawn from two points ends vertically), tip on the target's edge.
 */
function arrowHead(points: Array<{ x: number; y: number }>, verticalEnd: boolean): string {
  const tip = points[points.length - 1];
  const from = verticalEnd ? { x: tip.x, y: tip.y - 1 } : points[points.length - 2];
  const dx = tip.x - from.x;
  const dy = tip.y - from.y;
  const len = Math.hypot(dx, dy) || 1;
  const ux = dx / len;
  const uy = dy / len;
  const bx = tip.x - ux * ARROW_LENGTH;
  const by = tip.y - uy * ARROW_LENGTH;
  const f = (v: number) => v.toFixed(1);
  return `M${f(tip.x)},${f(tip.y)}L${f(bx - uy * ARROW_HALF_WIDTH)},${f(by + ux * ARROW_HALF_WIDTH)}L${f(bx + uy * ARROW_HALF_WIDTH)},${f(by - ux * ARROW_HALF_WIDTH)}Z`;
}
