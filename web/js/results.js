// The result view (issue 13 item 3): a table with sortable columns (click or
// Enter on a header), a column chooser, paging, row selection for the
// download handler, preview thumbnails and proprietary rows marked with their
// release date. Used by the query page and the ADQL page alike.
import { mjdToIso } from "./query.js";

/** Whether a row is proprietary: its data_rights column says so, or, in an
 * archive whose profile has no data_rights, its obs_release_date (the
 * ObsCore 1.1 column) is still to come. `get(row, name)` reads a column (undefined
 * when the result has no such column). */
export function isProprietary(row, get) {
  const rights = get(row, "data_rights");
  if (rights !== undefined && rights !== null) return rights === "Proprietary";
  const release = Date.parse(get(row, "obs_release_date") ?? "");
  return Number.isFinite(release) && release > Date.now();
}

export class ResultTable {
  /** container: element to render into; options: {onHover(key, on), onPage(), onPreview(row),
   * thumbnail(row) -> URL|null, pageSize} */
  constructor(container, options = {}) {
    this.el = container;
    this.o = options;
    this.pageSize = options.pageSize || 50;
    this.selected = new Set();
    this.table = { fields: [], rows: [] };
    this.sort = null;
  }

  /** Shows a parsed VOTable ({fields, rows}); `hidden`: names not shown as columns. */
  show(table, hidden = new Set()) {
    this.table = table;
    this.index = Object.fromEntries(table.fields.map((f, i) => [f.name, i]));
    this.rowIndex = new Map(table.rows.map((r, i) => [r, i]));
    this.hidden = hidden;
    this.page = 0;
    this.order = table.rows.map((_, i) => i);
    if (this.sort && this.index[this.sort.name] !== undefined) this.applySort(); else this.sort = null;
    for (const k of [...this.selected]) if (!table.rows.some(r => this.key(r) === k)) this.selected.delete(k);
    this.render();
  }

  get(row, name) { const i = this.index[name]; return i === undefined ? undefined : row[i]; }
  key(row) { return String(this.get(row, "obs_publisher_did") ?? "row " + this.rowIndex.get(row)); }

  /** The rows of the current page (in display order). */
  pageRows() {
    const start = this.page * this.pageSize;
    return this.order.slice(start, start + this.pageSize).map(i => this.table.rows[i]);
  }

  applySort() {
    const j = this.index[this.sort.name], dir = this.sort.dir;
    const rows = this.table.rows;
    this.order.sort((a, b) => {
      const x = rows[a][j], y = rows[b][j];
      if (x === y) return a - b;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : 1) * dir;
    });
  }

  sortBy(name) {
    this.sort = this.sort && this.sort.name === name ? { name, dir: -this.sort.dir } : { name, dir: 1 };
    this.order = this.table.rows.map((_, i) => i);
    this.applySort();
    this.page = 0;
    this.render();
    this.el.querySelector(`th[data-name="${CSS.escape(name)}"] button`)?.focus();
  }

  format(field, v, row) {
    if (v === null || v === undefined) return "";
    if (field.name === "t_min" || field.name === "t_max") return mjdToIso(v);
    if (field.name === "access_url") return null;  // a link, below
    if (field.name === "access_estsize") return v >= 1024 ? (v / 1024).toFixed(1) + " MB" : v + " kB";
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3 ? v.toExponential(4) : v.toPrecision(6).replace(/\.?0+$/, "");
    return String(v);
  }

  render() {
    const { fields, rows } = this.table;
    const shown = fields.map((f, i) => ({ f, i })).filter(({ f }) => !this.hidden.has(f.name));
    const pages = Math.max(1, Math.ceil(rows.length / this.pageSize));
    const t = document.createElement("table");
    t.className = "results";
    const thead = t.createTHead().insertRow();
    const sel = document.createElement("th");
    sel.innerHTML = '<input type="checkbox" aria-label="select all rows of this page" class="select-page">';
    thead.append(sel);
    const pv = document.createElement("th");
    pv.textContent = "preview";
    thead.append(pv);
    for (const { f } of shown) {
      const th = document.createElement("th");
      th.dataset.name = f.name;
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = f.name + (this.sort?.name === f.name ? (this.sort.dir > 0 ? " ▲" : " ▼") : "");
      b.title = (f.description || f.name) + (f.unit ? ` [${f.unit}]` : "") + " — click to sort";
      if (this.sort?.name === f.name) th.setAttribute("aria-sort", this.sort.dir > 0 ? "ascending" : "descending");
      b.addEventListener("click", () => this.sortBy(f.name));
      th.append(b);
      if (f.unit) { const u = document.createElement("span"); u.className = "unit"; u.textContent = f.unit; th.append(u); }
      thead.append(th);
    }
    const tbody = t.createTBody();
    for (const row of this.pageRows()) {
      const key = this.key(row);
      const tr = tbody.insertRow();
      tr.dataset.key = key;
      const proprietary = isProprietary(row, (r, n) => this.get(r, n));
      const release = this.get(row, "obs_release_date");
      if (proprietary) { tr.classList.add("proprietary"); tr.title = `proprietary until ${release}`; }
      const c0 = tr.insertCell();
      c0.className = "select";
      c0.innerHTML = `<input type="checkbox" aria-label="select ${escapeHtml(key)}">`;
      const box = c0.firstChild;
      box.checked = this.selected.has(key);
      box.addEventListener("change", () => { box.checked ? this.selected.add(key) : this.selected.delete(key); this.o.onSelect?.(); });
      if (proprietary) {
        const lock = document.createElement("span");
        lock.className = "lock";
        lock.textContent = "P";
        lock.title = `proprietary until ${release}`;
        lock.setAttribute("aria-label", `proprietary until ${release}`);
        c0.append(lock);
      }
      const c1 = tr.insertCell();
      c1.className = "thumb";
      const url = this.o.thumbnail?.(row);
      const pbtn = document.createElement("button");
      pbtn.type = "button";
      pbtn.className = "preview-button";
      pbtn.title = "previews and files (DataLink)";
      if (url) {
        const img = document.createElement("img");
        img.loading = "lazy";
        img.alt = "preview";
        img.src = url;
        img.width = 48; img.height = 48;
        img.addEventListener("error", () => { img.remove(); pbtn.textContent = "links"; });
        pbtn.append(img);
      } else pbtn.textContent = proprietary ? "locked" : "links";
      pbtn.addEventListener("click", () => this.o.onPreview?.(row));
      c1.append(pbtn);
      for (const { f, i } of shown) {
        const td = tr.insertCell();
        const v = row[i];
        if (f.name === "access_url" && v) {
          const a = document.createElement("a");
          a.href = v; a.textContent = "DataLink";
          td.append(a);
        } else if (f.name === "obs_release_date" && proprietary) {
          td.innerHTML = `<span class="release">${escapeHtml(String(v ?? ""))}</span>`;
        } else td.textContent = this.format(f, v, row);
        if (typeof v === "number") td.className = "num";
      }
      tr.addEventListener("mouseenter", () => this.o.onHover?.(key, true));
      tr.addEventListener("mouseleave", () => this.o.onHover?.(key, false));
      tr.addEventListener("focusin", () => this.o.onHover?.(key, true));
      tr.addEventListener("focusout", () => this.o.onHover?.(key, false));
    }
    const selPage = sel.querySelector("input");
    selPage.addEventListener("change", () => {
      for (const row of this.pageRows()) selPage.checked ? this.selected.add(this.key(row)) : this.selected.delete(this.key(row));
      this.render();
      this.o.onSelect?.();
    });
    const nav = document.createElement("div");
    nav.className = "pager";
    const first = this.page * this.pageSize;
    nav.innerHTML = `<button type="button" class="prev" ${this.page === 0 ? "disabled" : ""}>◀ previous</button>
      <span class="page-info">rows ${rows.length ? first + 1 : 0}–${Math.min(rows.length, first + this.pageSize)} of ${rows.length} (page ${this.page + 1}/${pages})</span>
      <button type="button" class="next" ${this.page >= pages - 1 ? "disabled" : ""}>next ▶</button>
      <label>rows per page <select class="page-size">${[20, 50, 100, 250].map(n => `<option ${n === this.pageSize ? "selected" : ""}>${n}</option>`).join("")}</select></label>`;
    nav.querySelector(".prev").addEventListener("click", () => { this.page--; this.render(); });
    nav.querySelector(".next").addEventListener("click", () => { this.page++; this.render(); });
    nav.querySelector(".page-size").addEventListener("change", (e) => { this.pageSize = +e.target.value; this.page = 0; this.render(); });
    const wrap = document.createElement("div");
    wrap.className = "table-wrap";
    wrap.append(t);
    this.el.replaceChildren(nav, wrap);
    this.o.onPage?.();
  }

  /** Highlights the row of `key` (scrolled into view when `scroll`). */
  highlight(key, on, scroll) {
    for (const tr of this.el.querySelectorAll("tr.hover")) tr.classList.remove("hover");
    if (!on || !key) return;
    const tr = this.el.querySelector(`tr[data-key="${CSS.escape(key)}"]`);
    if (tr) { tr.classList.add("hover"); if (scroll) tr.scrollIntoView({ block: "nearest" }); }
  }
}

export function escapeHtml(s) {
  return s.replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
