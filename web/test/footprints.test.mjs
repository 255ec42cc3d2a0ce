// node --test web/test : the sky view's footprint drawing (footprintPaths in web/js/sky.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { geoGnomonic } from "d3-geo";
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
