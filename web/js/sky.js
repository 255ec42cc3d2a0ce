// The sky view (issue 13 item 3): every row's footprint (s_region, STC-S
// "Polygon ICRS ..." / "Circle ICRS ...") drawn with d3-geo on a gnomonic
// projection, east to the left; the background is the archive's own
// previews (/datalink/preview PNGs) laid into their footprints, never an
// outside survey. Hovering a footprint highlights its row and back.
// The footprints are two SVG paths however many rows there are (one for the
// outlines, one for the dots marking footprints too small to see) and an
// overlay path for the highlighted one: ~2,000 SVG elements (one per
// footprint and dot) cost Chromium 250-300 ms of style, layout and paint per
// 1,000-row result. The pointer finds its footprint by hit-testing (each
// footprint's box, then its Path2D), not by the browser's per-element events.
import { geoGnomonic, geoAzimuthalEqualArea, geoPath, geoGraticule, geoCircle, geoArea, geoDistance } from "d3-geo";

const SVG = "http://www.w3.org/2000/svg";

/** A footprint text -> GeoJSON geometry (lon = RA, lat = Dec), or null.
 * STC-S Polygon/Circle/Box (frame ICRS or none), or a DALI polygon (numbers). */
export function regionGeometry(text) {
  if (!text || typeof text !== "string") return null;
  const t = text.trim().split(/\s+/);
  if (!t.length) return null;
  let kind = t[0].toLowerCase();
  let nums;
  if (/^[-+\d.]/.test(kind)) { nums = t.map(Number); kind = "polygon"; }
  else {
    let i = 1;
    while (i < t.length && !/^[-+\d.]/.test(t[i])) ++i;  // frame, refpos, flavor words
    nums = t.slice(i).map(Number);
  }
  if (nums.some(x => !Number.isFinite(x))) return null;
  if (kind === "circle" && nums.length >= 3) {
    return { type: "Polygon", coordinates: geoCircle().center([nums[0], nums[1]]).radius(nums[2]).precision(1)().coordinates, circle: nums.slice(0, 3) };
  }
  if (kind === "box" && nums.length >= 4) {
    const [ra, dec, w, h] = nums;
    const c = Math.cos(dec * Math.PI / 180) || 1;
    nums = [ra - w / 2 / c, dec - h / 2, ra + w / 2 / c, dec - h / 2, ra + w / 2 / c, dec + h / 2, ra - w / 2 / c, dec + h / 2];
    kind = "polygon";
  }
  if (kind === "polygon" && nums.length >= 6 && nums.length % 2 === 0) {
    const ring = [];
    for (let i = 0; i < nums.length; i += 2) ring.push([nums[i], nums[i + 1]]);
    ring.push(ring[0]);
    let g = { type: "Polygon", coordinates: [ring], vertices: ring.slice(0, -1) };
    if (geoArea(g) > 2 * Math.PI) g = { ...g, coordinates: [ring.slice().reverse()] };  // d3 wants the small side
    return g;
  }
  return null;
}

/** The sky view in `svg` (an <svg> element). */
export class SkyView {
  constructor(svg, { onHover, onClick } = {}) {
    this.svg = svg;
    this.onHover = onHover || (() => {});
    this.onClick = onClick || (() => {});
    this.items = [];
    this.labels = new Map();
    this.zoom = 1;
    this.marker = null;
    this.drawn = new Map();
    let drag = null;
    // the footprint under the pointer: hit-tested on every move (one Path2D test per footprint whose box holds the point)
    this.hovered = null;
    const setHovered = (k) => {
      if (k === this.hovered) return;
      if (this.hovered) this.onHover(this.hovered, false);
      this.hovered = k;
      svg.style.cursor = k ? "pointer" : "";
      if (k) this.onHover(k, true);
    };
    // (mousemove: a WebDriver pointer move in Chromium sends mousemove and pointerover, not always pointermove)
    svg.addEventListener("mousemove", (e) => { if (!drag?.moved) setHovered(this.keyAt(e.clientX, e.clientY)); });
    svg.addEventListener("mouseleave", () => setHovered(null));
    svg.addEventListener("click", (e) => {
      if (this.suppressClick) { this.suppressClick = false; e.stopImmediatePropagation(); return; }
      const k = this.keyAt(e.clientX, e.clientY);
      if (k) this.onClick(k);
    });
    // drag to pan: the sky point under the pointer follows it
    svg.addEventListener("pointerdown", (e) => {
      if (!this.projection || e.button !== 0) return;
      drag = { x: e.clientX, y: e.clientY, moved: false, center: this.viewCenter || this.center };
    });
    svg.addEventListener("pointermove", (e) => {
      if (!drag || !this.projection) return;
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < 4) return;
      drag.moved = true;
      const r = svg.getBoundingClientRect(), vb = svg.viewBox.baseVal;
      const k = vb.width / r.width;
      const p = this.projection.invert([vb.width / 2 - dx * k, vb.height / 2 - dy * k]);
      if (p) { this.viewCenter = p; drag.x = e.clientX; drag.y = e.clientY; this.render(); }
    });
    const endDrag = (e) => {
      if (drag?.moved) { e.stopPropagation(); this.suppressClick = true; }
      drag = null;
    };
    svg.addEventListener("pointerup", endDrag);
    svg.addEventListener("pointerleave", () => { drag = null; });
    // keyboard: arrows pan by a quarter of the view, + and - zoom, 0 resets
    svg.setAttribute("tabindex", "0");
    svg.addEventListener("keydown", (e) => {
      if (!this.projection) return;
      const vb = svg.viewBox.baseVal;
      const step = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
      if (step) {
        const p = this.projection.invert([vb.width / 2 + step[0] * vb.width / 4, vb.height / 2 + step[1] * vb.height / 4]);
        if (p) this.viewCenter = p;
      } else if (e.key === "+" || e.key === "=") this.zoom = Math.min(200, this.zoom * 1.25);
      else if (e.key === "-") this.zoom = Math.max(0.2, this.zoom * 0.8);
      else if (e.key === "0") { this.zoom = 1; this.viewCenter = null; }
      else return;
      e.preventDefault();
      this.render();
    });
    svg.addEventListener("wheel", (e) => {
      if (!this.projection) return;
      e.preventDefault();
      this.zoom *= e.deltaY < 0 ? 1.25 : 0.8;
      this.zoom = Math.min(200, Math.max(0.2, this.zoom));
      this.render();
    }, { passive: false });
  }

  /** Shows `rows` ([{key, region, preview (URL or null), label}]) and the search
   * circle `marker` ({ra, dec, radiusDeg} or null); previews are laid only
   * under the footprints of `previewKeys` (a Set; the table's page). */
  show(rows, marker, previewKeys) {
    this.items = rows.map(r => ({ ...r, geometry: regionGeometry(r.region) })).filter(r => r.geometry);
    this.labels = new Map(this.items.map(i => [i.key, i.label]));
    this.previewKeys = previewKeys || null;
    this.marker = marker;
    this.zoom = 1;
    this.viewCenter = null;
    this.fit();
    this.render();
  }

  fit() {
    const features = this.items.map(i => ({ type: "Feature", geometry: i.geometry }));
    if (this.marker) features.push({ type: "Feature", geometry: geoCircle().center([this.marker.ra, this.marker.dec]).radius(this.marker.radiusDeg)() });
    this.collection = { type: "FeatureCollection", features };
    if (!features.length) { this.projection = null; return; }
    const center = this.marker ? [this.marker.ra, this.marker.dec] : meanDirection(features);
    // how far the footprints reach from the centre (degrees): the projection, and the graticule's extent
    let reach = 0;  // radians
    for (const f of features)
      for (const ring of f.geometry.coordinates)
        for (let i = 0; i < ring.length; i += Math.max(1, ring.length >> 3)) reach = Math.max(reach, geoDistance(center, ring[i]));
    const spread = Math.max(reach * 180 / Math.PI, this.marker ? this.marker.radiusDeg : 0);
    this.spread = Math.max(spread, 1 / 3600);
    // d3 drops circles below ~1 arcsec as degenerate: small fields are fitted to 4 points at the reach instead
    const r = Math.min(179, this.spread * 1.02), cosDec = Math.max(0.05, Math.cos(center[1] * Math.PI / 180));
    this.fitShape = r > 1 ? geoCircle().center(center).radius(r)() : { type: "MultiPoint", coordinates: [
      [center[0] - r / cosDec, center[1]], [center[0] + r / cosDec, center[1]],
      [center[0], Math.max(-90, center[1] - r)], [center[0], Math.min(90, center[1] + r)]] };
    const proj = spread > 45 ? geoAzimuthalEqualArea() : geoGnomonic().clipAngle(80);
    proj.rotate([-center[0], -center[1]]).reflectX(true);
    this.center = center;
    this.baseProjection = proj;
    this.straightEdges = !(spread > 45);  // gnomonic: great circles are straight lines
  }

  render() {
    const svg = this.svg;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const w = svg.clientWidth || 500, h = svg.clientHeight || 360;
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    if (!this.baseProjection || !this.collection.features.length) {
      const t = el("text", { x: w / 2, y: h / 2, "text-anchor": "middle", class: "sky-empty" });
      t.textContent = "no footprints";
      svg.append(t);
      return;
    }
    // fitted to the circle holding every footprint (one shape: fitting all footprints costs ~40 ms per 1,000)
    const proj = this.baseProjection.fitExtent([[16, 16], [w - 16, h - 16]], this.fitShape);
    proj.scale(proj.scale() * this.zoom);
    if (this.zoom !== 1 || this.viewCenter) {  // zoomed or panned: the view's centre in the middle
      const vc = this.viewCenter || this.center;
      proj.rotate([-vc[0], -vc[1]]);
      const c = proj(vc);
      const [tx, ty] = proj.translate();
      proj.translate([tx + w / 2 - c[0], ty + h / 2 - c[1]]);
    }
    this.projection = proj;
    const path = geoPath(proj);
    const bg = el("g", { class: "sky-background" });
    const grid = el("path", { class: "graticule", d: path(graticuleFor(Math.min(180, 2 * this.spread * Math.max(1, w / h) / this.zoom), this.center)) || "" });
    svg.append(bg, grid);
    this.background = bg;
    for (const it of this.items)
      if (it.preview && this.previewKeys?.has(it.key) && it.geometry.vertices && it.geometry.vertices.length === 4) this.layPreview(it, bg);
    const drawn = footprintPaths(this.items, proj, { straightEdges: this.straightEdges });
    this.drawn = drawn.drawn;
    this.outlines = drawn.outlines;
    this.hitPaths = new Map();
    svg.append(el("path", { class: "footprints", d: drawn.outlines }), el("path", { class: "footprint-dots", d: drawn.dots }));
    this.overlay = el("g", { class: "footprint-overlay" });
    svg.append(this.overlay);
    if (this.highlighted) this.highlight(this.highlighted, true);
    if (this.marker) {
      svg.append(el("path", { class: "search-circle", d: path(geoCircle().center([this.marker.ra, this.marker.dec]).radius(this.marker.radiusDeg)()) || "" }));
    }
    if (this.cutout) {
      svg.append(el("path", { class: "cutout-circle", d: path(geoCircle().center([this.cutout.ra, this.cutout.dec]).radius(this.cutout.radius)()) || "" }));
    }
    const scaleDeg = scaleBar(proj, this.center, w);
    if (scaleDeg) {
      const g = el("g", { class: "scale" });
      g.append(el("line", { x1: 12, y1: h - 12, x2: 12 + scaleDeg.px, y2: h - 12 }));
      const t = el("text", { x: 12, y: h - 16 });
      t.textContent = scaleDeg.label + "  (E left, N up; wheel or +/- zoom, drag or arrows pan)";
      g.append(t);
      svg.append(g);
    }
  }

  /** Lays the preview of `it` into its footprint in `bg` (the background
   * group of the current drawing) once the browser has it: at once when it is
   * loaded already, else when it loads (if `bg` is still the one drawn); a
   * preview that fails to load is never laid. (An <image> laid before its
   * load cannot show anything in that frame, and 50 of them, loading or
   * broken, cost Chromium 40-100 ms of paint per drawing.) */
  layPreview(it, bg) {
    const lay = () => {
      if (this.background !== bg || !this.projection) return;
      const m = imageMatrix(it.geometry.vertices.map(v => this.projection(v)));
      if (m) bg.append(el("image", { href: it.preview, width: 1, height: 1, preserveAspectRatio: "none", transform: `matrix(${m.join(" ")})`, class: "sky-preview" }));
    };
    const state = previewCache.get(it.preview);
    if (state === true) return lay();
    if (state === false) return;
    let img = state;
    if (!img) {
      if (previewCache.size > 2000) previewCache.clear();
      img = new Image();
      img.addEventListener("load", () => previewCache.set(it.preview, true));
      img.addEventListener("error", () => previewCache.set(it.preview, false));
      img.src = it.preview;
      previewCache.set(it.preview, img);
    }
    img.addEventListener("load", lay);
  }

  /** Highlights the footprint of `key` (or clears it): an overlay path
   * (class "footprint hover", data-key) copied from the drawn outline, and its
   * dot when it has one. */
  highlight(key, on) {
    this.highlighted = key && on ? key : null;  // drawn again after a new drawing (zoom, pan, resize)
    if (!this.overlay) return;
    this.overlay.replaceChildren();
    const d = key && on ? this.drawn.get(key) : null;
    if (!d) return;
    const p = el("path", { class: "footprint hover", "data-key": key, d: this.outlines.slice(d.start, d.end) });
    const t = el("title", {});
    t.textContent = this.labels.get(key) || key;
    p.append(t);
    this.overlay.append(p);
    if (d.dot) this.overlay.append(el("circle", { class: "footprint-dot hover", "data-key": key, cx: d.dot[0], cy: d.dot[1], r: DOT_RADIUS }));
  }

  /** The key of the footprint under a client point (CSS pixels), or null: a
   * dot within its radius first, else the smallest drawn outline holding the
   * point (its box, then its Path2D: the same path the view drew). */
  keyAt(clientX, clientY) {
    if (!this.drawn.size) return null;
    const r = this.svg.getBoundingClientRect(), vb = this.svg.viewBox.baseVal;
    if (!r.width || !r.height) return null;
    const x = (clientX - r.left) * (vb.width / r.width), y = (clientY - r.top) * (vb.height / r.height);
    let best = null, bestArea = Infinity;
    for (const [key, d] of this.drawn) {
      if (d.dot && Math.hypot(x - d.dot[0], y - d.dot[1]) <= DOT_RADIUS + 1) return key;
      const [x0, y0, x1, y1] = d.box;
      if (x < x0 || x > x1 || y < y0 || y > y1) continue;
      const area = (x1 - x0) * (y1 - y0);
      if (area >= bestArea) continue;
      let p = this.hitPaths.get(key);
      if (!p) { p = new Path2D(this.outlines.slice(d.start, d.end)); this.hitPaths.set(key, p); }
      if (hitContext().isPointInPath(p, x, y)) { best = key; bestArea = area; }
    }
    return best;
  }

  /** What the view drew, read from the drawing (for tests and scripts): one
   * entry per footprint drawn, {key, x, y, width, height} its box in client
   * (CSS) pixels (the dot's box for a footprint drawn as a dot), `dot` whether
   * it has one. */
  drawnFootprints() {
    const r = this.svg.getBoundingClientRect(), vb = this.svg.viewBox.baseVal;
    const kx = vb.width ? r.width / vb.width : 1, ky = vb.height ? r.height / vb.height : 1;
    return [...this.drawn].map(([key, d]) => {
      const [x0, y0, x1, y1] = d.dot ? [d.dot[0] - DOT_RADIUS, d.dot[1] - DOT_RADIUS, d.dot[0] + DOT_RADIUS, d.dot[1] + DOT_RADIUS] : d.box;
      return { key, x: r.left + x0 * kx, y: r.top + y0 * ky, width: (x1 - x0) * kx, height: (y1 - y0) * ky, dot: !!d.dot };
    });
  }

  /** The sky position (ra, dec) under a client point, or null. */
  invert(clientX, clientY) {
    if (!this.projection) return null;
    const r = this.svg.getBoundingClientRect();
    const vb = this.svg.viewBox.baseVal;
    const x = (clientX - r.left) * (vb.width / r.width), y = (clientY - r.top) * (vb.height / r.height);
    const p = this.projection.invert([x, y]);
    return p ? { ra: (p[0] + 360) % 360, dec: p[1] } : null;
  }

  setCutout(c) { this.cutout = c; this.render(); }

  /** Lays previews only under the footprints of `keys` (the table's page), so
   * that a large result does not ask the archive for every preview at once. */
  setPreviews(keys) {
    const same = this.previewKeys && keys.size === this.previewKeys.size && [...keys].every(k => this.previewKeys.has(k));
    this.previewKeys = keys;
    if (!same) this.render();
  }
}

const DOT_RADIUS = 3.5;

/** Preview URL -> true (loaded), false (failed) or the Image still loading. */
const previewCache = new Map();

let hitCanvas = null;
/** A 2D context for Path2D hit tests (never shown). */
function hitContext() {
  hitCanvas ??= document.createElement("canvas").getContext("2d");
  return hitCanvas;
}

/** The footprints of `items` ([{key, geometry}]) projected by `proj` (a d3
 * projection) into two SVG path strings: `outlines`, every footprint's
 * outline (pixels, 0.1 px), and `dots`, a circle of DOT_RADIUS at each footprint
 * whose box is under 5 px both ways (too small to see or point at). `drawn`:
 * key -> {start, end (its part of `outlines`), box [x0, y0, x1, y1] of the
 * points drawn, dot [x, y] or null}; a footprint wholly clipped away is
 * absent.
 * A footprint whose vertices all lie inside the projection's clip angle is
 * drawn from its projected vertices (d3's resampling and clipping stream cost
 * ~70 us a footprint, most of the sky view's time): exact when `straightEdges`
 * (a gnomonic projection maps great circles to straight lines), else only for
 * footprints drawn under 24 px both ways (an edge's bow is then well under a
 * pixel); the others go through d3's geoPath. */
export function footprintPaths(items, proj, { straightEdges = false } = {}) {
  const parts = [];
  let len = 0, x0, y0, x1, y1;
  const put = (s) => { parts.push(s); len += s.length; };
  const point = (c, x, y) => {
    if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
    put(c + (Math.round(x * 10) / 10) + "," + (Math.round(y * 10) / 10));
  };
  const pen = {
    moveTo: (x, y) => point("M", x, y),
    lineTo: (x, y) => point("L", x, y),
    closePath: () => put("Z"),
    arc: (x, y, r) => { point("M", x + r, y); put(`A${r},${r},0,1,1,${x - r},${y}A${r},${r},0,1,1,${x + r},${y}`); },
    beginPath: () => {},
  };
  const path = geoPath(proj, pen);
  // the view's centre as a unit vector, and the cosine of the clip angle: a vertex is inside when its dot product is larger
  const [rl, rp] = proj.rotate();
  const centre = unitVector(-rl, -rp);
  const cosClip = Math.cos(Math.min(179, proj.clipAngle() ?? 179) * Math.PI / 180);
  const drawn = new Map();
  const dots = [];
  const xy = [];
  for (const it of items) {
    const start = len;
    x0 = y0 = Infinity; x1 = y1 = -Infinity;
    const ring = it.geometry.vertices || it.geometry.coordinates[0].slice(0, -1);
    let direct = ring.length >= 3;
    xy.length = 0;
    for (const v of ring) {
      const u = unitVector(v[0], v[1]);
      if (u[0] * centre[0] + u[1] * centre[1] + u[2] * centre[2] <= cosClip) { direct = false; break; }
      const p = proj(v);
      if (!p || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) { direct = false; break; }
      xy.push(p);
      if (p[0] < x0) x0 = p[0]; if (p[0] > x1) x1 = p[0]; if (p[1] < y0) y0 = p[1]; if (p[1] > y1) y1 = p[1];
    }
    if (direct && (straightEdges || (x1 - x0 < 24 && y1 - y0 < 24))) {
      for (let i = 0; i < xy.length; ++i) put((i ? "L" : "M") + (Math.round(xy[i][0] * 10) / 10) + "," + (Math.round(xy[i][1] * 10) / 10));
      put("Z");
    } else {
      x0 = y0 = Infinity; x1 = y1 = -Infinity;
      path(it.geometry);
    }
    if (len === start || !(x1 >= x0)) continue;
    let dot = null;
    if (x1 - x0 < 5 && y1 - y0 < 5) {
      dot = [Math.round((x0 + x1) * 5) / 10, Math.round((y0 + y1) * 5) / 10];
      dots.push(`M${dot[0] + DOT_RADIUS},${dot[1]}A${DOT_RADIUS},${DOT_RADIUS},0,1,1,${dot[0] - DOT_RADIUS},${dot[1]}A${DOT_RADIUS},${DOT_RADIUS},0,1,1,${dot[0] + DOT_RADIUS},${dot[1]}Z`);
    }
    drawn.set(it.key, { start, end: len, box: [x0, y0, x1, y1], dot });
  }
  return { outlines: parts.join(""), dots: dots.join(""), drawn };
}

/** The unit vector of a direction (lon, lat in degrees). */
function unitVector(lon, lat) {
  const l = lon * Math.PI / 180, b = lat * Math.PI / 180, c = Math.cos(b);
  return [c * Math.cos(l), c * Math.sin(l), Math.sin(b)];
}

/** The mean direction of the footprints' vertices (ra, dec degrees; at most
 * 8 vertices of each ring, closing vertex left out). */
function meanDirection(features) {
  let x = 0, y = 0, z = 0;
  for (const f of features)
    for (const ring of f.geometry.coordinates) {
      const n = ring.length - 1;
      for (let i = 0; i < n; i += Math.max(1, n >> 3)) {
        const l = ring[i][0] * Math.PI / 180, b = ring[i][1] * Math.PI / 180;
        x += Math.cos(b) * Math.cos(l); y += Math.cos(b) * Math.sin(l); z += Math.sin(b);
      }
    }
  const norm = Math.hypot(x, y, z);
  if (norm < 1e-12) return [0, 0];
  return [Math.atan2(y, x) * 180 / Math.PI, Math.asin(z / norm) * 180 / Math.PI];
}

function el(name, attrs) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/** The affine map of a unit square (a preview PNG, north up) onto the projected
 * corners of a 4-vertex footprint. The footprint starts at the first or the
 * last pixel-grid corner (fits/bounds.cpp orders it counter-clockwise on the
 * sky); of the two readings, the one without a mirror (an east-left image) is
 * taken. Returns [a, b, c, d, e, f] or null. */
export function imageMatrix(P) {
  if (P.some(p => !p || !Number.isFinite(p[0]) || !Number.isFinite(p[1]))) return null;
  const cand = [
    { o: P[0], ex: sub(P[1], P[0]), ey: sub(P[3], P[0]) },  // PNG top-left at vertex 0
    { o: P[3], ex: sub(P[2], P[3]), ey: sub(P[0], P[3]) },  // PNG top-left at vertex 3
  ];
  for (const c of cand) {
    const det = c.ex[0] * c.ey[1] - c.ex[1] * c.ey[0];
    if (det > 0) return [c.ex[0], c.ex[1], c.ey[0], c.ey[1], c.o[0], c.o[1]];
  }
  return null;
}

function sub(a, b) { return [a[0] - b[0], a[1] - b[1]]; }

/** The graticule (a GeoJSON MultiLineString) of a view `span` degrees wide
 * around `center` ([ra, dec] degrees): lines about 1/6 of the span apart,
 * sampled every quarter step (at most 2.5 degrees), over the part of the sky in
 * view (the whole sphere from a span of 60 degrees). */
export function graticuleFor(span, center) {
  const steps = [1 / 3600, 2 / 3600, 5 / 3600, 10 / 3600, 30 / 3600, 1 / 60, 2 / 60, 5 / 60, 10 / 60, 0.25, 0.5, 1, 2, 5, 10, 15, 30];
  const step = steps.find(s => s >= span / 6) || 30;
  const g = geoGraticule().step([step, step]);
  if (span < 60) {
    const dLat = span, dLon = Math.min(180, span / Math.max(0.05, Math.cos(center[1] * Math.PI / 180)));
    const snap = (v, f) => f(v / step) * step;
    g.extent([[snap(center[0] - dLon, Math.floor), Math.max(-90, snap(center[1] - dLat, Math.floor))],
              [snap(center[0] + dLon, Math.ceil), Math.min(90, snap(center[1] + dLat, Math.ceil))]]);
  }
  // The sampling is set after the extent: d3 samples the parallels across the
  // extent it has when precision() is called, and on the default (whole-sphere)
  // extent a 1-arcsecond step's 0.25-arcsecond sampling built two arrays of 5
  // million longitudes (2.6-4.4 s per drawing of a small footprint).
  return g.precision(Math.min(2.5, step / 4))();
}

function scaleBar(proj, center, w) {
  const p0 = proj(center);
  if (!p0) return null;
  const p1 = proj([center[0], center[1] + 1 / 60]);
  if (!p1) return null;
  const pxPerArcmin = Math.hypot(p1[0] - p0[0], p1[1] - p0[1]);
  const choices = [[1 / 60, '1"'], [10 / 60, '10"'], [0.5, "30\""], [1, "1'"], [2, "2'"], [5, "5'"], [10, "10'"], [30, "30'"], [60, "1°"], [300, "5°"], [600, "10°"], [1800, "30°"]];
  const c = choices.find(([m]) => m * pxPerArcmin >= 40) || choices[choices.length - 1];
  return { px: c[0] * pxPerArcmin, label: c[1] };
}
