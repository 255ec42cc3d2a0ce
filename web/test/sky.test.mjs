// node --test web/test : the sky view's graticule (web/js/sky.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { graticuleFor } from "../js/sky.js";

test("a view 4 arcseconds wide: lines 1 arcsecond apart, only around the view", () => {
  const center = [24.173028, 15.780972];
  const g = graticuleFor(4 / 3600, center);
  assert.equal(g.type, "MultiLineString");
  const points = g.coordinates.flat();
  // every point within the view's reach (span in Dec, span / cos(Dec) in RA, snapped to the step)
  for (const [ra, dec] of points) {
    assert.ok(Math.abs(dec - center[1]) <= 5 / 3600 + 1e-9, `dec ${dec}`);
    assert.ok(Math.abs(ra - center[0]) <= 6 / 3600 + 1e-9, `ra ${ra}`);
  }
  // the meridians: whole arcseconds of RA
  const meridians = new Set(g.coordinates.filter(l => l.every(p => p[0] === l[0][0])).map(l => Math.round(l[0][0] * 3600)));
  assert.ok(meridians.size >= 8, `${meridians.size} meridians`);
  // sampled every quarter step: a handful of points per line, not millions
  assert.ok(points.length < 5000, `${points.length} points`);
});

test("a wide view: the whole sphere, 30-degree lines", () => {
  const g = graticuleFor(180, [0, 0]);
  const decs = new Set(g.coordinates.flat().map(p => p[1]));
  assert.ok(decs.has(-90) || decs.has(90) || [...decs].some(d => Math.abs(d) > 80));
  const meridians = new Set(g.coordinates.filter(l => l.every(p => p[0] === l[0][0])).map(l => l[0][0]));
  assert.ok(meridians.size >= 12, `${meridians.size} meridians`);
});
