import { layerNodes, newNodeView, renderDispatchHtml, renderDispatchText, type DispatchSnapshot, type NodeView } from '../../src/protocol';

const node = (id: number, name: string, status: NodeView['status'], dependsOn: number[] = []): NodeView =>
  newNodeView(id, { name, status, executor: 'local', dependsOn });
const snap = (nodes: NodeView[], name = 'wf'): DispatchSnapshot => ({
  dispatchId: 'd-1',
  name,
  status: 'RUNNING',
  startedAt: null,
  completedAt: null,
  parentDispatchId: null,
  nodes,
  takenAt: '2026-01-01T00:00:00.000Z',
});

test('nodes are layered by their longest chain of dependencies', () => {
  const layers = layerNodes([node(0, 'a', 'COMPLETED'), node(1, 'b', 'RUNNING', [0]), node(2, 'c', 'NEW_OBJECT', [0, 1]), node(3, 'd', 'NEW_OBJECT')]);
  expect(Object.fromEntries(layers)).toEqual({ 0: 0, 1: 1, 2: 2, 3: 0 });
});

test('the HTML holds one box per node with its status, an edge per dependency, and escapes names', () => {
  const html = renderDispatchHtml(snap([node(0, '<script>x</script>', 'COMPLETED'), node(1, 'b', 'CANCELLED', [0])], 'a & b'));
  expect(html).toContain('<svg');
  expect(html.match(/<g data-node-id=/g)).toHaveLength(2);
  expect(html).toContain('data-node-id="1" data-status="CANCELLED"');
  expect(html.match(/<line /g)).toHaveLength(1);
  expect(html).not.toContain('<script>');
  expect(html).toContain('&lt;script&gt;');
  expect(html).toContain('<b>a &amp; b</b>');
});

test('the text rendering summarises the dispatch and lists tasks with cancel outcomes', () => {
  const n = node(1, 'b', 'CANCELLED', [0]);
  n.cancelOutcome = 'killed';
  const text = renderDispatchText(snap([node(0, 'a', 'COMPLETED'), n]));
  expect(text.split('\n')).toEqual(['Dispatch d-1 (wf): RUNNING \u2014 1 completed, 1 cancelled', '  #0 a: COMPLETED', '  #1 b: CANCELLED (cancel: killed)']);
});
