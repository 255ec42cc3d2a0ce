// node --test web/test : the sky view's footprint drawing (footprintPaths in web/js/sky.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { geoGnomonic, geoAzimuthalEqualArea, geoPath } from "d3-geo";
import { footprintPaths, regionGeometry } from "../js/sky.js";

const square = (ra, dec, half) => regionGeometry(`Polygon ICRS ${ra - half} ${dec - half} ${ra + half} ${dec - half} ${ra + half} ${dec + half} ${ra - half} ${dec + half}`);

test("every footprint gets its own part of the one outline path, with its box; small ones a dot", () => {
  const proj = geoGnomonic().rotate([-10, -20]).reflectX(true).scale(2000).translate([250, 180]);
  const items = [
    { key: "big", geometry: square(10, 20, 0.05) },
    { key: "tiny", geometry: square(10.02, 20.02, 0.0001) },
    { key: "circle", geometry: regionGeometry("Circle ICRS 9.98 19.98 0.01") },
    { key: "behind", geometry: square(190, -20, 0.05) },  // the far side of the sky: clipped away
  ];
  const { outlines, dots, drawn } = footprintPaths(items, proj);
  assert.deepEqual([...drawn.keys()], ["big", "tiny", "circle"]);
  for (const [key, d] of drawn) {
    const part = outlines.slice(d.start, d.end);
    assert.match(part, /^M[-\d.]+,[-\d.]+(L[-\d.]+,[-\d.]+)+Z$/, key);
    // the box holds every point of the part, and touches its extremes
    const xs = [...part.matchAll(/[ML]([-\d.]+),([-\d.]+)/g)].map(m => [+m[1], +m[2]]);
    assert.ok(Math.abs(Math.min(...xs.map(p => p[0])) - d.box[0]) <= 0.05 && Math.abs(Math.max(...xs.map(p => p[1])) - d.box[3]) <= 0.05, key);
  }
  // 0.1 degree at 2000 px per radian: 3.5 px, drawn as an outline; 0.0002 degree: a dot
  const big = drawn.get("big").box;
  assert.ok(big[2] - big[0] > 3 && big[3] - big[1] > 3);
  assert.equal(drawn.get("tiny").dot.length, 2);
  assert.equal((dots.match(/M/g) || []).length, [...drawn.values()].filter(d => d.dot).length);
  // east is left: the footprint at higher RA is drawn further left
  assert.ok(drawn.get("big").box[0] < drawn.get("circle").box[0]);
});

test("outlines drawn vertex by vertex have the box d3's resampled path has", () => {
  // gnomonic (great circles are straight lines): a 5-degree footprint, drawn large
  const gnomonic = geoGnomonic().clipAngle(80).rotate([-150, 30]).reflectX(true).scale(3000).translate([400, 300]);
  const big = { key: "big", geometry: square(150, -30, 2.5) };
  const direct = footprintPaths([big], gnomonic, { straightEdges: true }).drawn.get("big").box;
  const [[bx0, by0], [bx1, by1]] = geoPath(gnomonic).bounds(big.geometry);
  for (const [a, b] of [[direct[0], bx0], [direct[1], by0], [direct[2], bx1], [direct[3], by1]]) assert.ok(Math.abs(a - b) < 0.1, `${a} ${b}`);
  // the whole-sky projection: a small footprint (a few pixels) drawn vertex by vertex, a large one by d3
  const sky = geoAzimuthalEqualArea().rotate([-10, -20]).reflectX(true).scale(120).translate([400, 200]);
  const items = [{ key: "small", geometry: square(60, 40, 0.5) }, { key: "large", geometry: square(80, 0, 20) }];
  const { drawn } = footprintPaths(items, sky);
  for (const it of items) {
    const [[x0, y0], [x1, y1]] = geoPath(sky).bounds(it.geometry);
    const b = drawn.get(it.key).box;
    assert.ok(Math.abs(b[0] - x0) < 0.2 && Math.abs(b[1] - y0) < 0.2 && Math.abs(b[2] - x1) < 0.2 && Math.abs(b[3] - y1) < 0.2, `${it.key}: ${b} vs ${[x0, y0, x1, y1]}`);
  }
  // the large one's edges bow: d3 resampled it into more points than its 4 vertices
  const d = drawn.get("large");
  assert.ok(((footprintPaths(items, sky).outlines.slice(d.start, d.end)).match(/L/g) || []).length > 4);
});
