import { ElapsedClock } from '../../labextension/src/graph/elapsed-clock';

describe('ElapsedClock (elapsed times of running nodes)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('ticks once a second for the running nodes only, while the graph is live', () => {
    const ticks: number[][] = [];
    const clock = new ElapsedClock((_now, ids) => ticks.push([...ids]));
    clock.set(1, true);
    clock.set(2, true);
    clock.set(2, false);
    clock.sync(true);
    jest.advanceTimersByTime(2500);
    expect(ticks).toEqual([[1], [1]]);
    // A snapshot (not live) stops the clock; so does the last running node finishing.
    clock.sync(false);
    jest.advanceTimersByTime(3000);
    expect(ticks).toHaveLength(2);
    clock.sync(true);
    jest.advanceTimersByTime(1000);
    expect(ticks).toHaveLength(3);
    clock.set(1, false);
    clock.sync(true);
    jest.advanceTimersByTime(3000);
    expect(ticks).toHaveLength(3);
  });

  it('does not tick with no running node', () => {
    const tick = jest.fn();
    const clock = new ElapsedClock(tick);
    clock.sync(true);
    jest.advanceTimersByTime(5000);
    expect(tick).not.toHaveBeenCalled();
    clock.stop();
  });
});
