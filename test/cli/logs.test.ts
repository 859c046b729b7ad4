import { tempDir } from '../support/wait';
import { ct, owner } from './support/cli';

describe('covalent-ts logs', () => {
  const home = tempDir('ct-home-');
  let id = '';
  beforeAll(async () => {
    const o = await owner(
      home,
      `const chatty = ct.electron(function chatty(n) {
         for (let i = 0; i < n; i++) console.log('line ' + i);
         console.error('a warning');
         return n;
       });
       const quiet = ct.electron(function quiet() { return 1; });
       const id = await ct.dispatch(ct.lattice(() => [chatty(3), quiet()], { name: 'logs' }))();
       await ct.getResult(id, { wait: true });
       await ct.shutdown();
       emit(id);`,
    );
    id = o.out[0] as string;
    await o.exited;
  });

  it("prints a local task's stdout and stderr, each to its own stream, from another process", () => {
    const r = ct(home, ['logs', id.slice(0, 8), '--task', '0']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('line 0\nline 1\nline 2\n');
    expect(r.stderr).toBe('a warning\n');
  });

  it('--stream picks one, to stdout', () => {
    const r = ct(home, ['logs', id, '--task', '0', '--stream', 'stderr']);
    expect([r.status, r.stdout, r.stderr]).toEqual([0, 'a warning\n', '']);
  });

  it('says when a task printed nothing, and refuses unknown tasks and streams with exit 2', () => {
    const quiet = ct(home, ['logs', id, '--task', '1']);
    expect([quiet.status, quiet.stdout]).toEqual([0, '']);
    expect(quiet.stderr).toMatch(/task 1 \(quiet, COMPLETED\) has no captured output/);
    const unknown = ct(home, ['logs', id, '--task', '7']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/has no task 7.*\[CT_UNKNOWN_TASK\]/);
    const badStream = ct(home, ['logs', id, '--task', '0', '--stream', 'both']);
    expect(badStream.status).toBe(2);
    expect(badStream.stderr).toMatch(/--stream is stdout or stderr.*\[CT_INVALID_ARGUMENT\]/);
    const noTask = ct(home, ['logs', id]);
    expect(noTask.status).toBe(2);
    expect(noTask.stderr).toMatch(/required option '-t, --task <n>' not specified.*\[CT_INVALID_ARGUMENT\]/);
  });
});
