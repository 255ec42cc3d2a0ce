// The result view shared by the query page and the ADQL page (issue 13 item
// 3): the table, the sky view and the spectral panel of one result, linked
// by hover (row <-> footprint <-> band), previews from DataLink.
import { BASE } from "./tap.js";
import { ResultTable, isProprietary } from "./results.js";
import { SkyView } from "./sky.js";
import { SpectralView } from "./spectral.js";
import { showPreviews } from "./download.js";

/** The thumbnail of a row: its DataLink preview (peak image of a cube, the
 * image itself), public rows only (an <img> cannot send credentials; the
 * pop-up can). */
export function previewUrl(row, get) {
  const did = get(row, "obs_publisher_did");
  const type = get(row, "dataproduct_type");
  if (!did || !(type === "cube" || type === "image")) return null;
  // a proprietary preview answers 401, and for an <img> the browser opens its own sign-in dialog
  if (isProprietary(row, get)) return null;
  return `${BASE}/datalink/preview?ID=${encodeURIComponent(did)}&KIND=${type === "cube" ? "peak" : "image"}`;
}

export class ResultView {
  /** els: {results, sky, spectral, dialog} elements; onSelect() after a selection change. */
  constructor(els, { onSelect } = {}) {
    this.lastTable = null;
    this.drawing = false;
    const label = (r) => `${this.get(r, "target_name") ?? ""} ${this.get(r, "obs_id") ?? ""}`.trim();
    this.table = new ResultTable(els.results, {
      onHover: (key, on) => { this.sky.highlight(key, on); this.spectral.highlight(key, on); },
      onPreview: (row) => showPreviews(els.dialog, this.get(row, "obs_publisher_did"), label(row)),
      thumbnail: (row) => previewUrl(row, (r, n) => this.get(r, n)),
      onPage: () => { if (this.drawing) return; this.drawSpectral(); this.sky.setPreviews(this.pageKeys()); },
      onSelect,
    });
    this.sky = new SkyView(els.sky, {
      onHover: (key, on) => { this.table.highlight(key, on, true); this.spectral.highlight(key, on); this.sky.highlight(key, on); },
    });
    this.spectral = new SpectralView(els.spectral, {
      onHover: (key, on) => { this.table.highlight(key, on, true); this.sky.highlight(key, on); },
    });
    this.label = label;
    window.addEventListener("resize", () => { this.sky.render(); this.drawSpectral(); });
  }

  get(row, name) { return this.table.get(row, name); }
  pageKeys() { return new Set(this.table.pageRows().map(r => this.table.key(r))); }

  drawSpectral() {
    const t = this.lastTable;
    if (!t) return;
    const item = (r) => ({ key: this.table.key(r), em_min: this.get(r, "em_min"), em_max: this.get(r, "em_max"), label: this.label(r) });
    this.spectral.show(t.rows.map(item), this.table.pageRows().map(item));
  }

  /** Shows a parsed result: the table, the spectral panel and the sky view
   * in the one task (the sky view is three SVG paths however many rows, ~30 ms
   * for 1,000 footprints, so it shares the table's frame), then, once that
   * frame is painted, `onDrawn({painted, sky})` (painted: performance.now()
   * after the frame; sky: the sky view's drawing in ms) unless `stale()` says
   * a newer result came. hidden: column names not shown; marker: the search
   * circle. */
  show(t, { hidden = new Set(), marker = null, stale = () => false, onDrawn = () => {} } = {}) {
    this.lastTable = t;
    this.drawing = true;
    this.table.show(t, hidden);
    this.drawing = false;
    this.drawSpectral();
    const s0 = performance.now();
    this.sky.show(t.rows.map(r => ({
      key: this.table.key(r), region: this.get(r, "s_region"), label: this.label(r), preview: previewUrl(r, (x, n) => this.get(x, n)),
    })), marker, this.pageKeys());
    const skyMs = performance.now() - s0;
    requestAnimationFrame(() => setTimeout(() => {
      if (!stale()) onDrawn({ painted: performance.now(), sky: skyMs });
    }, 0));
  }
}
