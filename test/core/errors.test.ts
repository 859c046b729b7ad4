import * as ct from '../../src';

describe('typed errors', () => {
  it('carry a stable code and work with instanceof along the class chain', () => {
    const e = new ct.TaskCancelledError();
    expect(e).toBeInstanceOf(ct.TaskCancelledError);
    expect(e).toBeInstanceOf(ct.CtError);
    expect(e).toBeInstanceOf(Error);
    expect(e).not.toBeInstanceOf(ct.InvalidInputError);
    expect(e.code).toBe('CT_TASK_CANCELLED');
  });

  it('are recognised across two copies of the module', () => {
    // A second, independent copy of the library (as a notebook cell and the kernel may have).
    let other: typeof ct;
    jest.isolateModules(() => {
      other = require('../../src');
    });
    expect(other!.CtError).not.toBe(ct.CtError);
    const fromOther = new other!.TaskCancelledError('x');
    expect(fromOther).toBeInstanceOf(ct.TaskCancelledError);
    expect(fromOther).toBeInstanceOf(ct.CtError);
    expect(new ct.InvalidInputError(ct.ErrorCodes.UNKNOWN_TASK, 'y')).toBeInstanceOf(other!.CtError);
    expect(new ct.InvalidInputError(ct.ErrorCodes.UNKNOWN_TASK, 'y')).not.toBeInstanceOf(other!.TaskCancelledError);
  });

  it('finds a cancellation anywhere in the cause chain', () => {
    const wrapped = new ct.ExecutorError(ct.ErrorCodes.EXECUTOR_FAILED, 'outer', { cause: new ct.TaskCancelledError() });
    expect(ct.isCancellation(wrapped)).toBe(true);
    expect(ct.isCancellation(new Error('plain'))).toBe(false);
  });
});
