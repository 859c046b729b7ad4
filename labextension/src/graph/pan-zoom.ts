import { IDisposable } from '@lumino/disposable';

const MIN_SCALE = 0.05;
const MAX_SCALE = 2;
/** Tallest a graph grows inside a notebook output before it scrolls by panning. */
const MAX_VIEW_HEIGHT = 480;
const MIN_VIEW_HEIGHT = 140;

/**
 * Pan (drag the background) and zoom (Ctrl/⌘ + wheel, or the toolbar) by a CSS
 * transform on the canvas, so the browser moves one composited layer instead of
 * re-laying out thousands of nodes. A plain wheel keeps scrolling the notebook.
 */
export class PanZoom implements IDisposable {
  constructor(viewport: HTMLElement, canvas: HTMLElement, onScale?: (scale: number) => void) {
    this._viewport = viewport;
    this._canvas = canvas;
    this._onScale = onScale;
    viewport.addEventListener('wheel', this._onWheel, { passive: false });
    viewport.addEventListener('pointerdown', this._onDown);
  }

  get scale(): number {
    return this._scale;
  }
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  setContentSize(width: number, height: number): void {
    this._width = width;
    this._height = height;
    const h = Math.max(MIN_VIEW_HEIGHT, Math.min(MAX_VIEW_HEIGHT, height + 8));
    this._viewport.style.height = `${h}px`;
    this.fit();
  }

  /** Show the whole graph, never enlarging past 1:1. */
  fit(): void {
    const vw = this._viewport.clientWidth || 800;
    const vh = this._viewport.clientHeight || MAX_VIEW_HEIGHT;
    const s = clamp(Math.min(1, vw / Math.max(1, this._width), vh / Math.max(1, this._height)));
    this._scale = s;
    this._x = (vw - this._width * s) / 2;
    this._y = Math.max(0, (vh - this._height * s) / 2);
    this._apply();
  }

  zoomBy(factor: number, cx?: number, cy?: number): void {
    const vw = this._viewport.clientWidth || 800;
    const vh = this._viewport.clientHeight || MAX_VIEW_HEIGHT;
    const px = cx ?? vw / 2;
    const py = cy ?? vh / 2;
    const next = clamp(this._scale * factor);
    // Keep the point under the cursor where it is.
    this._x = px - ((px - this._x) * next) / this._scale;
    this._y = py - ((py - this._y) * next) / this._scale;
    this._scale = next;
    this._apply();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._viewport.removeEventListener('wheel', this._onWheel);
    this._viewport.removeEventListener('pointerdown', this._onDown);
    window.removeEventListener('pointermove', this._onMove);
    window.removeEventListener('pointerup', this._onUp);
  }

  private _apply(): void {
    this._canvas.style.transform = `translate(${this._x}px, ${this._y}px) scale(${this._scale})`;
    this._canvas.dataset.scale = this._scale.toFixed(3);
    this._onScale?.(this._scale);
  }

  private _onWheel = (ev: WheelEvent): void => {
    if (!(ev.ctrlKey || ev.metaKey)) {
      return;
    }
    ev.preventDefault();
    const rect = this._viewport.getBoundingClientRect();
    this._wheelZoom(ev.deltaY, ev.clientX - rect.left, ev.clientY - rect.top);
  };

  private _wheelZoom(deltaY: number, x: number, y: number): void {
    this.zoomBy(Math.exp(-deltaY / 300), x, y);
  }

  private _onDown = (ev: PointerEvent): void => {
    if (ev.button !== 0 || (ev.target as HTMLElement).closest('button, .jp-CovalentNode')) {
      return;
    }
    this._drag = { x: ev.clientX, y: ev.clientY, ox: this._x, oy: this._y };
    this._viewport.classList.add('jp-mod-panning');
    window.addEventListener('pointermove', this._onMove);
    window.addEventListener('pointerup', this._onUp);
  };

  private _onMove = (ev: PointerEvent): void => {
    if (!this._drag) {
      return;
    }
    this._x = this._drag.ox + ev.clientX - this._drag.x;
    this._y = this._drag.oy + ev.clientY - this._drag.y;
    this._apply();
  };

  private _onUp = (): void => {
    this._drag = null;
    this._viewport.classList.remove('jp-mod-panning');
    window.removeEventListener('pointermove', this._onMove);
    window.removeEventListener('pointerup', this._onUp);
  };

  private _onScale?: (scale: number) => void;
  private _viewport: HTMLElement;
  private _canvas: HTMLElement;
  private _width = 1;
  private _height = 1;
  private _scale = 1;
  private _x = 0;
  private _y = 0;
  private _drag: { x: number; y: number; ox: number; oy: number } | null = null;
  private _isDisposed = false;
}

function clamp(s: number): number {
  return Math.min(MAX_SCALE, Math.max(MIN_SCALE, s));
}
