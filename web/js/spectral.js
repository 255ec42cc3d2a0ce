// The spectral coverage panel (issue 13 item 3, ALMA Manual section 3.3.2):
// em_min..em_max of every row, in frequency (GHz) when the rows are radio
// (longer than 0.1 mm), else in wavelength (nm). The combined coverage of all
// rows on top, one bar per row of the page below; hover links to the table.
const SVG = "http://www.w3.org/2000/svg";
const C = 299792458;

function el(name, attrs) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

export class SpectralView {
  constructor(svg, { onHover } = {}) { this.svg = svg; this.onHover = onHover || (() => {}); }

  /** all: [{key, em_min, em_max}] of the whole result; page: those shown as bars. */
  show(all, page) {
    const svg = this.svg;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const w = svg.clientWidth || 400, h = svg.clientHeight || 200;
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    const valid = all.filter(r => Number.isFinite(r.em_min) && Number.isFinite(r.em_max) && r.em_min > 0);
    if (!valid.length) {
      const t = el("text", { x: w / 2, y: h / 2, "text-anchor": "middle" });
      t.textContent = "no spectral coverage";
      svg.append(t);
      return;
    }
    const radio = valid.every(r => r.em_min > 1e-4);
    const conv = radio ? (m) => C / m / 1e9 : (m) => m * 1e9;
    const unit = radio ? "GHz" : "nm";
    const iv = (r) => { const a = conv(r.em_min), b = conv(r.em_max); return [Math.min(a, b), Math.max(a, b)]; };
    let lo = Infinity, hi = -Infinity;
    for (const r of valid) { const [a, b] = iv(r); lo = Math.min(lo, a); hi = Math.max(hi, b); }
    const pad = (hi - lo) * 0.05 || Math.abs(lo) * 0.01 || 1;
    lo -= pad; hi += pad;
    const left = 10, right = w - 10, top = 8, axisY = h - 22;
    const x = (v) => left + (v - lo) / (hi - lo) * (right - left);
    // combined coverage: the union of all intervals
    const sorted = valid.map(iv).sort((a, b) => a[0] - b[0]);
    const union = [];
    for (const s of sorted) {
      if (union.length && s[0] <= union[union.length - 1][1]) union[union.length - 1][1] = Math.max(union[union.length - 1][1], s[1]);
      else union.push([...s]);
    }
    for (const [a, b] of union) svg.append(el("rect", { class: "coverage", x: x(a), y: top, width: Math.max(1, x(b) - x(a)), height: 10 }));
    const rows = page.filter(r => Number.isFinite(r.em_min) && Number.isFinite(r.em_max) && r.em_min > 0);
    const bh = Math.max(2, Math.min(10, (axisY - top - 18) / Math.max(1, rows.length) - 1));
    rows.forEach((r, i) => {
      const [a, b] = iv(r);
      const rect = el("rect", { class: "band", "data-key": r.key, x: x(a), y: top + 16 + i * (bh + 1), width: Math.max(1, x(b) - x(a)), height: bh });
      const title = el("title", {});
      title.textContent = `${r.label}: ${a.toPrecision(6)}–${b.toPrecision(6)} ${unit}`;
      rect.append(title);
      rect.addEventListener("mouseenter", () => this.onHover(r.key, true));
      rect.addEventListener("mouseleave", () => this.onHover(r.key, false));
      svg.append(rect);
    });
    svg.append(el("line", { class: "axis", x1: left, x2: right, y1: axisY, y2: axisY }));
    for (let i = 0; i <= 4; ++i) {
      const v = lo + (hi - lo) * i / 4;
      svg.append(el("line", { class: "axis", x1: x(v), x2: x(v), y1: axisY, y2: axisY + 4 }));
      const t = el("text", { x: x(v), y: axisY + 15, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" });
      t.textContent = v.toPrecision(4) + (i === 4 ? " " + unit : "");
      svg.append(t);
    }
  }

  highlight(key, on) {
    for (const p of this.svg.querySelectorAll(".band.hover")) p.classList.remove("hover");
    const p = key && this.svg.querySelector(`.band[data-key="${CSS.escape(key)}"]`);
    if (p && on) p.classList.add("hover");
  }
}
