// node --test web/test : the query page's ADQL building (web/js/query.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSearch, buildQuery, parseRanges, galacticToIcrs, icrsToGalactic, fieldCondition, GROUPS, InputError, isoToMjd } from "../js/query.js";

const field = (id) => GROUPS.flatMap(g => g.fields).find(f => f.id === id);

test("names: wildcards, OR, radius", () => {
  assert.deepEqual(parseSearch("NGC*|m83"), { kind: "name", names: ["NGC*", "m83"], radiusArcmin: 10 });
  assert.deepEqual(parseSearch("Arp220, 1").names, ["Arp220"]);
  assert.equal(parseSearch("Arp220, 1").radiusArcmin, 1);
  const q = buildQuery({ search: "ngc?087|M8*" });
  assert.match(q.adql, /\(target_name ILIKE 'ngc_087' OR target_name ILIKE 'M8%'\)/);
  assert.match(buildQuery({ search: "O'Brien" }).adql, /'O''Brien'/);
  for (const name of ["M83", "M 83", "m 1", "NGC 1087", "3C 273", "30 Dor", "1E 0657-56", "HD 1, 3"])
    assert.equal(parseSearch(name).kind, "name", name);
});

test("positions: decimal, sexagesimal, galactic, radius", () => {
  let p = parseSearch("150.25 2.5");
  assert.equal(p.kind, "position"); assert.equal(p.ra, 150.25); assert.equal(p.dec, 2.5); assert.equal(p.radiusArcmin, 10);
  p = parseSearch("10:01:00 -02:30:00, 2.5");
  assert.ok(Math.abs(p.ra - 150.25) < 1e-9); assert.ok(Math.abs(p.dec + 2.5) < 1e-9); assert.equal(p.radiusArcmin, 2.5);
  p = parseSearch("10h01m00s +02d30m00s");
  assert.ok(Math.abs(p.ra - 150.25) < 1e-9); assert.ok(Math.abs(p.dec - 2.5) < 1e-9);
  p = parseSearch("10.5, -20.25");
  assert.equal(p.ra, 10.5); assert.equal(p.dec, -20.25); assert.equal(p.radiusArcmin, 10);
  p = parseSearch("gal 0 0");
  assert.ok(Math.abs(p.ra - 266.40499) < 1e-3 && Math.abs(p.dec + 28.93617) < 1e-3, JSON.stringify(p));
  const [l, b] = icrsToGalactic(...galacticToIcrs(123.4, -45.6));
  assert.ok(Math.abs(l - 123.4) < 1e-9 && Math.abs(b + 45.6) < 1e-9);
  assert.match(buildQuery({ search: "150 2, 3" }).adql, /INTERSECTS\(s_region, CIRCLE\('ICRS', 150, 2, 0\.05\)\)/);
});

test("malformed positions are errors of the search field", () => {
  for (const bad of ["150 95", "10:61:00 +02:00:00", "400 10", "150 2 3", "150 2, abc", "150 2, -1"]) {
    const q = buildQuery({ search: bad });
    assert.equal(q.adql, null, bad);
    assert.equal(q.errors[0].field, "search", bad);
  }
});

test("constraints: ranges, impossible ranges, units", () => {
  assert.deepEqual(parseRanges("x", "1..2|<3|>=4|5", parseFloat), [[1, 2], [null, 3], [4, null], [5, 5]]);
  assert.throws(() => parseRanges("x", "5..2"), (e) => e instanceof InputError && /impossible range/.test(e.message));
  assert.throws(() => fieldCondition(field("s_fov"), "abc"), /not a number/);
  assert.equal(fieldCondition(field("s_fov"), "36..72"), "s_fov BETWEEN 0.01 AND 0.02");
  assert.match(fieldCondition(field("frequency"), "100..200"), /em_min <= 0\.0029979/);
  assert.match(fieldCondition(field("band_list"), "3|6"), /\(band_list ILIKE '%3%' OR band_list ILIKE '%6%'\)/);
  assert.throws(() => fieldCondition(field("obs_date"), "2020-02-30"), /not a date/);
  assert.ok(Math.abs(isoToMjd("2000-01-01") - 51544) < 1e-9);
  const q = buildQuery({ search: "", fields: { s_fov: "9..1", obs_date: "x" } });
  assert.deepEqual(q.errors.map(e => e.field), ["s_fov", "obs_date"]);
});

test("fields whose columns the archive lacks are left out", () => {
  const q = buildQuery({ search: "", fields: { pub_title: "x" }, available: new Set(["obs_publisher_did", "target_name"]) });
  assert.doesNotMatch(q.adql, /pub_title/);
});
