import { ISignal, Signal } from '@lumino/signaling';
import type { DispatchGraph } from './graph-widget';

/**
 * The graphs on screen and which one the user worked with last: the palette
 * commands act on that one, since a command has no node of its own.
 */
export class GraphRegistry {
  get currentChanged(): ISignal<this, DispatchGraph | null> {
    return this._currentChanged;
  }
  get current(): DispatchGraph | null {
    if (this._current && this._current.isDisposed) {
      this._current = null;
    }
    return this._current ?? [...this._graphs].reverse().find(g => !g.isDisposed && g.isAttached) ?? null;
  }

  /** Every graph currently on screen, oldest first. */
  get graphs(): DispatchGraph[] {
    return [...this._graphs].filter(g => !g.isDisposed);
  }

  add(graph: DispatchGraph): void {
    this._graphs.add(graph);
    const activate = () => this._setCurrent(graph);
    graph.node.addEventListener('focusin', activate);
    graph.node.addEventListener('pointerdown', activate);
    graph.disposed.connect(() => {
      this._graphs.delete(graph);
      if (this._current === graph) {
        this._setCurrent(null);
      }
    });
  }

  private _setCurrent(graph: DispatchGraph | null): void {
    if (this._current !== graph) {
      this._current = graph;
      this._currentChanged.emit(graph);
    }
  }

  private _graphs = new Set<DispatchGraph>();
  private _current: DispatchGraph | null = null;
  private _currentChanged = new Signal<this, DispatchGraph | null>(this);
}
