/**
 * A test executor plugin whose jobs outlive the dispatching process, as
 * remote jobs do: each job is a detached `sleep` in its own process group,
 * named in the job handle by pid and start time. `cancel` signals the group
 * only while it is still that very process.
 *
 * Loaded by scripts (built library) and by jest (sources): pass the library.
 */
const { spawn } = require('node:child_process');

module.exports = function registerDetachedExecutor(ct) {
  class DetachedExecutor extends ct.Executor {
    constructor() {
      super();
      this.type = 'detached-sleep';
    }
    publicOptions() {
      return {};
    }
    async run(_payload, ctx) {
      const child = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
      const me = ct.identityOfPid(child.pid);
      await ctx.setJobHandle({ kind: 'detached-sleep', pid: child.pid, host: me.host, startTime: me.startTime });
      await new Promise((resolve) => child.on('exit', resolve));
      throw new ct.TaskCancelledError('the job was stopped');
    }
    async cancel(_meta, handle) {
      if (ct.processLiveness({ pid: handle.pid, host: handle.host, startTime: handle.startTime }) !== 'alive') return true;
      process.kill(-handle.pid, 'SIGKILL');
      for (let i = 0; i < 200 && ct.processLiveness(handle) === 'alive'; i++) await new Promise((r) => setTimeout(r, 10));
      return ct.processLiveness(handle) !== 'alive';
    }
  }
  ct.registerExecutor('detached-sleep', () => new DetachedExecutor());
};
