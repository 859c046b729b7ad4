/**
 * No form of executor configuration leaves a private key or passphrase
 * anywhere the product writes or shows things: the store and its journals
 * (every file under CT_HOME), results, snapshots, events and error
 * messages. Real dispatches over the real sshd and Slurm, with an encrypted
 * key of the non-root test user given in every documented way.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ct from '../../src';
import { closeSSHConnections, forgetSSHCredentials } from '../../src/executors/ssh';
import { usePrivateHome } from '../support/wait';
import { describeWithDaemons, killMatching, processesMatching, services, waitFor } from './support/services';

const home = usePrivateHome();
afterAll(async () => {
  await ct.shutdown();
  await closeSSHConnections();
});

const m = `${6000 + Math.floor(Math.random() * 900)}.${Math.floor(Math.random() * 1e5)}`;
afterAll(() => killMatching(`sleep ${m}`));

function add(a: number, b: number) {
  return a + b;
}
async function hang(marker: string) {
  require('child_process').spawn('sleep', [marker], { stdio: 'ignore' });
  await new Promise(() => setInterval(() => undefined, 1000));
}

/** Every way the secret could appear: its lines, the whole, base64 and hex, and Buffer-as-JSON. */
function needles(key: string, passphrase: string): string[] {
  const lines = key.split('\n').map((l) => l.trim()).filter((l) => l.length >= 8);
  const out = [passphrase, ...lines];
  for (const s of [key, passphrase, ...lines]) {
    out.push(Buffer.from(s).toString('base64').replace(/=+$/, ''), Buffer.from(s).toString('hex'));
  }
  out.push(JSON.stringify([...Buffer.from(key).subarray(0, 24)]).slice(1, -1));
  return out;
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describeWithDaemons('secrets in executor configurations', () => {
  it('no form of configuration leaves the key or passphrase in the store, journals, results, events or errors', async () => {
    const s = services().ssh;
    const user = s.user;
    const keyText = fs.readFileSync(user.privateKeyPath, 'utf8');
    const passphrase = user.passphrase!;
    const login = { host: s.host, port: s.port, username: user.username, knownHostsFile: s.knownHostsFile };
    const sshOptions = { ...login, remoteWorkDir: user.workDir, pollIntervalMs: 100, maxPollIntervalMs: 500 };
    const slurmOptions = (ssh: Record<string, unknown>) => ({
      ssh,
      slurmConf: services().slurm.conf,
      remoteWorkDir: `${user.workDir}/slurm-secrets`,
      nodePath: process.execPath,
      pollIntervalMs: 100,
      maxPollIntervalMs: 500,
    });
    const forms: [string, ct.ElectronOptions['executor']][] = [
      ['instance with key contents', new ct.SSHExecutor({ ...sshOptions, privateKey: keyText, passphrase })],
      ['stored config with key contents', { type: 'ssh', options: { ...sshOptions, privateKey: keyText, passphrase } }],
      ['stored config with a Buffer key', { type: 'ssh', options: { ...sshOptions, privateKey: Buffer.from(keyText), passphrase } }],
      ['stored config with a key file and its passphrase', { type: 'ssh', options: { ...sshOptions, privateKeyPath: user.privateKeyPath, passphrase } }],
      ['Slurm instance with ssh key contents', new ct.SlurmExecutor(slurmOptions({ ...login, privateKey: keyText, passphrase }))],
      ['Slurm stored config with ssh key contents', { type: 'slurm', options: slurmOptions({ ...login, privateKey: keyText, passphrase }) }],
    ];
    const events: unknown[] = [];
    const dispatcher = ct.getDispatcher();
    const record = (e: unknown) => events.push(e);
    dispatcher.on('node-changed', record).on('dispatch-changed', record).on('output', record);
    const shown: string[] = [];
    const journalTexts: [string, string][] = [];
    const results: unknown[] = [];
    try {
      // Each form runs a real task, as an electron's executor and as a lattice's default.
      for (const [label, executor] of forms) {
        forgetSSHCredentials(login);
        const onElectron = ct.electron(add, { executor });
        const res = await ct.dispatchSync(ct.lattice((a: number) => onElectron(a, 1), { name: label }))(1);
        expect([label, res.status, res.result]).toEqual([label, 'COMPLETED', 2]);
        const viaLattice = ct.electron(add);
        const res2 = await ct.dispatchSync(ct.lattice((a: number) => viaLattice(a, 2), { executor }))(1);
        expect([label, res2.status]).toEqual([label, 'COMPLETED']);
        results.push(res, res2, await dispatcher.snapshot(res.dispatchId));
        // An executor instance shown in a notebook cell (console.log, a bare expression) prints no secret.
        if (executor instanceof ct.Executor) shown.push(require('node:util').inspect(executor, { depth: 10 }), JSON.stringify(executor));
      }
      // A cancel of a running task (cancel flags, handles and final states go to the journal).
      forgetSSHCredentials(login);
      const remoteHang = ct.electron(hang, { executor: { type: 'ssh', options: { ...sshOptions, privateKey: keyText, passphrase } } });
      const id = await ct.dispatch(ct.lattice((mm: string) => remoteHang(mm)))(m);
      await waitFor('the remote task to run', () => processesMatching(`sleep ${m}`).length === 1, 60000);
      const report = await ct.cancel(id);
      expect(report.tasks[0].outcome).toBe('killed');
      // The journal holds the cancel now; snapshots may fold it in later.
      const journals = filesUnder(home).filter((f) => f.includes(`${path.sep}journal${path.sep}`));
      expect(journals.length).toBeGreaterThan(0);
      for (const f of journals) journalTexts.push([f, fs.readFileSync(f).toString('latin1')]);
      results.push(report, await ct.getResult(id, { wait: true }));

      // Mistakes: a config without a type, and a wrong passphrase, give errors naming no secret.
      const noType = await ct
        .dispatch(ct.lattice(() => ct.electron(add, { executor: { options: { ...sshOptions, privateKey: keyText, passphrase } } as any })(1, 2)))()
        .catch((e) => e);
      expect(noType).toMatchObject({ code: 'CT_UNKNOWN_EXECUTOR' });
      forgetSSHCredentials(login);
      await closeSSHConnections(); // no logged-in connection to reuse: the key must be decrypted again
      const wrong = await ct.dispatchSync(
        ct.lattice(() => ct.electron(add, { executor: { type: 'ssh', options: { ...sshOptions, privateKey: keyText, passphrase: `${passphrase}-wrong` } } })(1, 2)),
      )();
      expect(wrong.status).toBe('FAILED');
      expect(wrong.nodes[0].error).toMatch(/CREDENTIALS_REQUIRED|passphrase does not decrypt/);
      results.push(wrong, String(noType), noType.stack);
      await dispatcher.flush();
    } finally {
      dispatcher.off('node-changed', record).off('dispatch-changed', record).off('output', record);
    }

    const files = filesUnder(home);
    expect(files.some((f) => f.endsWith('store.sqlite'))).toBe(true);
    const texts: [string, string][] = [
      ...journalTexts,
      ...files.map((f): [string, string] => [f, fs.readFileSync(f).toString('latin1')]),
      ['results', JSON.stringify(results)],
      ['events', JSON.stringify(events)],
      ['inspect', shown.join('\n')],
    ];
    const found: string[] = [];
    for (const needle of needles(keyText, passphrase)) {
      for (const [where, text] of texts) if (text.includes(needle)) found.push(`${where}: ${needle.slice(0, 20)}...`);
    }
    expect(found).toEqual([]);
    // The stored configurations still say how to log in again (everything but the secrets).
    expect(texts.some(([f, t]) => f.startsWith(home) && t.includes(user.privateKeyPath) && t.includes(`"username":"${user.username}"`))).toBe(true);
  });
});
