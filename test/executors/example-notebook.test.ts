import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../../kernel/testing/kernel-process';
import { PYTHON, privateJupyter } from '../kernel/support/jupyter-env';
import { describeWithDaemons, services } from './support/services';

/**
 * examples/03-ssh-and-slurm.ipynb, filled in through its CT_EXAMPLE_* variables
 * with the test sshd and Slurm cluster, executed by Debian's nbclient as a user
 * would run it: every cell runs, the remote tasks complete, and the running
 * Slurm job is cancelled and reported killed.
 */
jest.setTimeout(600000);

const NOTEBOOK = path.join(ROOT, 'examples', '03-ssh-and-slurm.ipynb');
const RUN = path.join(ROOT, 'test', 'kernel', 'python', 'run_notebooks.py');

const text = (cell: any): string =>
  (cell.outputs ?? [])
    .map((o: any) => (o.output_type === 'stream' ? o.text : o.data?.['text/plain'] ?? (o.output_type === 'error' ? `${o.ename}: ${o.evalue}` : '')))
    .map((t: string | string[]) => (Array.isArray(t) ? t.join('') : t))
    .join('');

describeWithDaemons('the SSH and Slurm example notebook', () => {
  it('runs against configured hosts: remote tasks complete, a running Slurm job is cancelled and killed', () => {
    const s = services();
    const { env, workDir } = privateJupyter();
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-example-03-'));
    const r = spawnSync(PYTHON, [RUN, out, NOTEBOOK], {
      cwd: workDir,
      encoding: 'utf8',
      timeout: 540000,
      env: {
        ...env,
        CT_EXAMPLE_SSH_HOST: s.ssh.host,
        CT_EXAMPLE_SSH_PORT: String(s.ssh.port),
        CT_EXAMPLE_SSH_USER: s.ssh.root.username,
        CT_EXAMPLE_SSH_KEY: s.ssh.root.privateKeyPath,
        CT_EXAMPLE_KNOWN_HOSTS: s.ssh.knownHostsFile,
        CT_EXAMPLE_REMOTE_NODE: process.execPath,
        // Empty: submit with this machine's sbatch.
        CT_EXAMPLE_SLURM_HOST: '',
        CT_EXAMPLE_SLURM_PARTITION: s.slurm.partition,
        CT_EXAMPLE_SLURM_WORKDIR: `${s.ssh.root.workDir}/slurm-example`,
        CT_EXAMPLE_SLURM_CONF: s.slurm.conf
      }
    });
    const log = `${r.stdout}\n${r.stderr}`;
    const file = path.join(out, path.basename(NOTEBOOK));
    expect({ executed: fs.existsSync(file), log: fs.existsSync(file) ? '' : log }).toEqual({ executed: true, log: '' });
    const nb = JSON.parse(fs.readFileSync(file, 'utf8'));
    const cells = nb.cells.filter((c: any) => c.cell_type === 'code');
    const errors = cells.flatMap((c: any) => (c.outputs ?? []).filter((o: any) => o.output_type === 'error'));
    expect(errors).toEqual([]);
    expect(log).toContain(`executed ${NOTEBOOK}`);
    const all = cells.map(text).join('\n');
    expect(all).toMatch(/status: COMPLETED/);
    expect(all).toMatch(/where#\d+: COMPLETED -> \\?"[^"\\]+ \(pid \d+\)/);
    expect(all).toMatch(/on-cluster#\d+: COMPLETED -> \\?"[^"\\]+ job \d+/);
    expect(all).toContain('the job is running on the cluster');
    expect(all).toMatch(/#\d+ long: killed/);
  });
});
