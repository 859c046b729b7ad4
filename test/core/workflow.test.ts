import * as ct from '../../src';

describe('building the transport graph', () => {
  const add = ct.electron(function add(a: number, b: number) {
    return a + b;
  });
  const double = ct.electron((x: number) => x * 2, { name: 'double' });

  it('gives nodes integer ids in creation order, with edges for data dependencies', () => {
    const wf = ct.lattice((x: number) => add(double(x), double(1)));
    const g = wf.build([3]);
    expect(g.nodes.map((n) => [n.id, n.name, n.dependsOn])).toEqual([
      [0, 'double', []],
      [1, 'double', []],
      [2, 'add', [0, 1]],
    ]);
  });

  it('runs the lattice function with real arguments, so loops over an argument work', () => {
    const wf = ct.lattice((n: number) => {
      const outs = [];
      for (let i = 0; i < n; i++) outs.push(double(i));
      return outs;
    });
    expect(wf.build([5]).nodes).toHaveLength(5);
    expect(wf.build([2]).nodes).toHaveLength(2);
  });

  it('names tasks from the function or the name option, and workflows likewise', () => {
    expect(add.electronName).toBe('add');
    expect(double.electronName).toBe('double');
    expect(ct.lattice(function myflow() {}).name).toBe('myflow');
    expect(ct.lattice(() => 1, { name: 'demo' }).name).toBe('demo');
  });

  it('marks an electron that wraps a lattice as a sublattice node', () => {
    const inner = ct.lattice((x: number) => double(x), { name: 'inner' });
    const sub = ct.electron(inner);
    const wf = ct.lattice((x: number) => add(sub(x), 1));
    const g = wf.build([1]);
    expect(g.nodes[0]).toMatchObject({ id: 0, kind: 'sublattice', name: 'inner' });
    expect(g.nodes[1].dependsOn).toEqual([0]);
  });

  it('runs the plain function when an electron is called outside a lattice', () => {
    expect(add(2, 3)).toBe(5);
  });

  it('finds outputs nested in arrays and objects passed as arguments', () => {
    const sum = ct.electron(function sum(o: { xs: number[] }) {
      return o.xs.reduce((a, b) => a + b, 0);
    });
    const wf = ct.lattice(() => sum({ xs: [double(1), double(2)] }));
    expect(wf.build([]).nodes[2].dependsOn).toEqual([0, 1]);
  });

  it('refuses an async lattice function with advice', () => {
    const wf = ct.lattice(async () => double(1));
    expect(() => wf.build([])).toThrow(/must be synchronous/);
  });

  it('says so when a task output is used as a value inside the lattice', () => {
    const wf = ct.lattice(() => (double(1) as number) + 1);
    expect(() => wf.build([])).toThrow(ct.InvalidInputError);
    expect(() => wf.build([])).toThrow(/used as a value inside the lattice/);
  });

  it('rejects things that are not functions', () => {
    expect(() => ct.electron(42 as any)).toThrow(/expects a function or a lattice/);
    expect(() => ct.lattice('x' as any)).toThrow(/expects a function/);
  });
});
