// The query page's pure part (issue 13 item 2): the search box and the
// constraint fields turned into ADQL over ivoa.obscore. No DOM here, so
// `node --test web/test` checks it.

/** The constraint fields, grouped as the ALMA Science Archive Manual (section
 * 3.2) groups them. kind: "number" (ranges, with `scale` from the unit typed
 * to the column's), "text" (wildcards * ?, | for OR, case-insensitive),
 * "date" (ISO dates on t_min/t_max, MJD), "frequency" (GHz over em_min/em_max),
 * "choice" (values from the archive). A field is shown only when its columns
 * exist in the archive's ivoa.obscore. */
export const GROUPS = [
  { name: "Position", fields: [
    { id: "s_fov", label: "Field of view (arcsec)", kind: "number", columns: ["s_fov"], scale: 1 / 3600, example: "10..60" },
    { id: "spatial_resolution", label: "Angular resolution (arcsec)", kind: "number", columns: ["spatial_resolution"], scale: 1, example: "<0.5" },
    { id: "spatial_scale_max", label: "Largest angular scale (arcsec)", kind: "number", columns: ["spatial_scale_max"], scale: 1, example: ">5" },
    { id: "gal_latitude", label: "Galactic latitude (deg)", kind: "number", columns: ["gal_latitude"], scale: 1, example: "-10..10" },
  ] },
  { name: "Energy", fields: [
    { id: "frequency", label: "Frequency (GHz)", kind: "frequency", columns: ["em_min", "em_max"], example: "100..116" },
    { id: "wavelength", label: "Wavelength (nm)", kind: "wavelength", columns: ["em_min", "em_max"], example: "650..660" },
    { id: "band_list", label: "Band", kind: "text", columns: ["band_list"], contains: true, example: "3|6" },
    { id: "em_res_power", label: "Resolving power", kind: "number", columns: ["em_res_power"], scale: 1, example: ">1000" },
    { id: "spectral_resolution", label: "Spectral resolution (kHz)", kind: "number", columns: ["spectral_resolution"], scale: 1e3, example: "<500" },
    { id: "velocity_resolution", label: "Velocity resolution (km/s)", kind: "number", columns: ["velocity_resolution"], scale: 1e3, example: "<2" },
    { id: "pol_states", label: "Polarisation", kind: "text", columns: ["pol_states"], contains: true, example: "XX|I" },
  ] },
  { name: "Project", fields: [
    { id: "proposal_id", label: "Project code", kind: "text", columns: ["proposal_id"], example: "2011.0.*" },
    { id: "obs_creator_name", label: "PI name", kind: "text", columns: ["obs_creator_name"], contains: true, example: "Smith" },
    { id: "proposal_title", label: "Project title", kind: "text", columns: ["proposal_title"], contains: true, example: "galax*" },
    { id: "proposal_abstract", label: "Project abstract", kind: "text", columns: ["proposal_abstract"], contains: true, example: "outflow" },
    { id: "science_keyword", label: "Science keyword", kind: "text", columns: ["science_keyword"], contains: true, example: "Starburst*" },
    { id: "scientific_category", label: "Scientific category", kind: "text", columns: ["scientific_category"], contains: true, example: "Galaxy*" },
  ] },
  { name: "Publication", fields: [
    { id: "bib_reference", label: "Bibcode", kind: "text", columns: ["bib_reference"], contains: true, example: "2021MNRAS*" },
    { id: "pub_title", label: "Publication title", kind: "text", columns: ["pub_title"], contains: true, example: "molecular" },
    { id: "first_author", label: "First author", kind: "text", columns: ["first_author"], contains: true, example: "Emsellem" },
    { id: "publication_year", label: "Publication year", kind: "number", columns: ["publication_year"], scale: 1, example: "2019..2022" },
  ] },
  { name: "Observation", fields: [
    { id: "obs_collection", label: "Collection", kind: "choice", columns: ["obs_collection"] },
    { id: "dataproduct_type", label: "Product type", kind: "choice", columns: ["dataproduct_type"] },
    { id: "instrument_name", label: "Instrument", kind: "text", columns: ["instrument_name"], example: "MUSE" },
    { id: "obs_date", label: "Observation date", kind: "date", columns: ["t_min", "t_max"], example: "2019-01-01..2020-12-31" },
    { id: "t_exptime", label: "Integration (s)", kind: "number", columns: ["t_exptime"], scale: 1, example: ">600" },
    { id: "public_only", label: "Public data only", kind: "flag", columns: ["data_rights"], sql: "data_rights = 'Public'" },
    { id: "science_only", label: "Science observations only", kind: "flag", columns: ["science_observation"], sql: "science_observation = 'T'" },
  ] },
];

/** Columns every result carries (the views need them), in display order. */
export const REQUIRED_COLUMNS = ["obs_publisher_did", "obs_id", "target_name", "s_ra", "s_dec", "s_region",
  "em_min", "em_max", "dataproduct_type", "obs_collection", "data_rights", "obs_release_date", "access_url",
  "access_estsize"];
/** Columns shown by default besides the required ones (when they exist). */
export const DEFAULT_COLUMNS = ["target_name", "obs_id", "obs_collection", "dataproduct_type", "s_ra", "s_dec",
  "s_fov", "em_min", "em_max", "band_list", "t_min", "t_exptime", "proposal_id", "data_rights", "obs_release_date",
  "access_estsize"];

/** An error a field shows next to itself. */
export class InputError extends Error {
  constructor(field, message) { super(message); this.field = field; }
}

/** An ADQL string literal (quotes doubled). */
export function adqlString(s) { return "'" + String(s).replace(/'/g, "''") + "'"; }

/** A number as an ADQL literal (finite only). */
function num(x) {
  if (!Number.isFinite(x)) throw new Error("not finite: " + x);
  return String(x);
}

// ------------------------------------------------------------- coordinates

const DEG = Math.PI / 180;

/** Galactic (l, b) in degrees -> ICRS (ra, dec) in degrees (the IAU 1958
 * definition through the ICRS pole of the Galaxy: RA 192.85948, Dec 27.12825,
 * l of the north celestial pole 122.93192; accurate to ~0.1 arcsec). */
export function galacticToIcrs(l, b) {
  const raGp = 192.85948 * DEG, decGp = 27.12825 * DEG, lNcp = 122.93192 * DEG;
  const lr = l * DEG, br = b * DEG;
  const sinDec = Math.sin(br) * Math.sin(decGp) + Math.cos(br) * Math.cos(decGp) * Math.cos(lNcp - lr);
  const dec = Math.asin(Math.max(-1, Math.min(1, sinDec)));
  const y = Math.cos(br) * Math.sin(lNcp - lr);
  const x = Math.sin(br) * Math.cos(decGp) - Math.cos(br) * Math.sin(decGp) * Math.cos(lNcp - lr);
  let ra = (raGp + Math.atan2(y, x)) / DEG;
  ra = ((ra % 360) + 360) % 360;
  return [ra, dec / DEG];
}

/** ICRS (ra, dec) -> Galactic (l, b), degrees (inverse of galacticToIcrs). */
export function icrsToGalactic(ra, dec) {
  const raGp = 192.85948 * DEG, decGp = 27.12825 * DEG, lNcp = 122.93192 * DEG;
  const a = ra * DEG - raGp, d = dec * DEG;
  const sinB = Math.sin(d) * Math.sin(decGp) + Math.cos(d) * Math.cos(decGp) * Math.cos(a);
  const b = Math.asin(Math.max(-1, Math.min(1, sinB)));
  const y = Math.cos(d) * Math.sin(a);
  const x = Math.sin(d) * Math.cos(decGp) - Math.cos(d) * Math.sin(decGp) * Math.cos(a);
  let l = (lNcp - Math.atan2(y, x)) / DEG;
  l = ((l % 360) + 360) % 360;
  return [l, b / DEG];
}

/** One angle: decimal degrees ("150.25", "-2.5d") or sexagesimal
 * ("10:01:02.5", "10h01m02.5s", "-02 30 00", "-2d30m00s", "10 01 02.5").
 * `hours` reads a sexagesimal value as hours (right ascension). Returns
 * degrees or null when the text is not an angle. */
export function parseAngle(text, hours) {
  const t = text.trim().replace(/[°º]/g, "d").replace(/[′']/g, "m").replace(/[″"]/g, "s");
  let m = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)d?$/i.exec(t);
  if (m) return (m[1] === "-" ? -1 : 1) * parseFloat(m[2]);
  m = /^([+-]?)(\d+)(?:\s*[:hd]\s*|\s+)(\d+)(?:\s*[:m]\s*|\s+)(\d+(?:\.\d*)?)\s*s?$/i.exec(t) ||
      /^([+-]?)(\d+)(?:\s*[:hd]\s*|\s+)(\d+(?:\.\d*)?)\s*m?()$/i.exec(t);
  if (!m) return null;
  const unitIsHours = hours || /h/i.test(t);
  const a = parseInt(m[2], 10), b = parseFloat(m[3]), c = m[4] === "" ? 0 : parseFloat(m[4]);
  if (b >= 60 || c >= 60) return NaN;
  const v = a + b / 60 + c / 3600;
  return (m[1] === "-" ? -1 : 1) * v * (unitIsHours ? 15 : 1);
}

/** Splits "RA DEC" (or "RA, DEC") into its two angle texts. */
function splitPair(t) {
  const parts = t.trim().split(/\s*,\s*|\s+/).filter(Boolean);
  if (parts.length === 2) return parts;
  if (parts.length === 6) return [parts.slice(0, 3).join(" "), parts.slice(3).join(" ")];
  if (parts.length === 4) return [parts.slice(0, 2).join(" "), parts.slice(2).join(" ")];
  return null;
}

// A position starts with a number or a sign (after an optional frame word): "M 83" and "m1" are names
const POSITION_LIKE = /^\s*(?:(?:gal(?:actic)?|icrs|fk5|j2000)\b[\s:,]*)?[-+\d.][-+\d.:hdms°'"′″\s,]*(?:\s+(?:gal(?:actic)?|icrs))?\s*$/i;

/** Reads the search box (issue 13, ALMA Manual section 3.2): a position
 * (ICRS "RA DEC" in decimal degrees or sexagesimal, RA in hours when
 * sexagesimal; "gal L B" or "L B gal" for Galactic) with an optional radius in
 * arcmin after a comma (default 10), or target names with * ? wildcards and |
 * for OR (plus an optional radius that then does not apply). Returns
 * {kind: "empty"} | {kind: "position", ra, dec, radiusArcmin, frame, text} |
 * {kind: "name", names: [...]}. Throws InputError("search", ...) for a
 * malformed position or radius. */
export function parseSearch(text) {
  let t = (text || "").trim();
  if (!t) return { kind: "empty" };
  let radiusArcmin = 10;
  // the radius: the last comma-separated number, when what precedes it is a whole position or a name
  const rm = /^(.*\S)\s*,\s*([^,]*)$/.exec(t);
  let body = t;
  if (rm) {
    const maybePos = rm[1];
    const r = rm[2].trim();
    const isRadius = /^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?\s*(arcmin|')?$/i.test(r);
    // "10.5, -20.3" is a position, not a name with radius -20.3: only take the radius when the rest stands alone
    const restIsPosition = POSITION_LIKE.test(maybePos) && splitPair(stripFrame(maybePos).body) !== null;
    const restIsName = !POSITION_LIKE.test(maybePos);
    if (isRadius && (restIsPosition || restIsName)) {
      radiusArcmin = parseFloat(r);
      body = maybePos;
      if (!(radiusArcmin > 0) || radiusArcmin > 10800)
        throw new InputError("search", `radius ${r}: expected arcminutes between 0 and 10800`);
    } else if (!isRadius && r !== "" && restIsPosition) {
      throw new InputError("search", `radius '${r}': expected a number of arcminutes after the comma`);
    }
  }
  if (POSITION_LIKE.test(body) && /\d/.test(body)) {
    const { body: coords, frame } = stripFrame(body);
    const pair = splitPair(coords);
    if (!pair) throw new InputError("search", `'${body}': a position is two coordinates, e.g. "150.1 2.2" or "10:00:28.6 +02:12:21, 5"`);
    const sexa = /[:hms ]/i.test(pair[0].trim()) && !/^[-+]?[\d.]+d?$/.test(pair[0].trim());
    let a = parseAngle(pair[0], frame === "icrs" && sexa);
    let b = parseAngle(pair[1], false);
    if (a === null || b === null || Number.isNaN(a) || Number.isNaN(b))
      throw new InputError("search", `'${body}': cannot read the coordinates (minutes and seconds below 60, e.g. "10:00:28.6 +02:12:21")`);
    if (b < -90 || b > 90)
      throw new InputError("search", `${frame === "icrs" ? "Dec" : "b"} ${pair[1]} is outside -90..90 degrees`);
    if (a < 0 || a >= 360)
      throw new InputError("search", `${frame === "icrs" ? "RA" : "l"} ${pair[0]} is outside 0..360 degrees (0..24h)`);
    let ra = a, dec = b;
    if (frame === "galactic") [ra, dec] = galacticToIcrs(a, b);
    return { kind: "position", ra, dec, radiusArcmin, frame, text: body };
  }
  const names = body.split("|").map(s => s.trim()).filter(Boolean);
  if (!names.length) throw new InputError("search", "empty name between '|'");
  return { kind: "name", names, radiusArcmin };
}

function stripFrame(text) {
  let frame = "icrs";
  let body = text.trim();
  const pre = /^(gal(?:actic)?|icrs|fk5|j2000)\b[\s:,]*/i.exec(body);
  if (pre) { if (/^gal/i.test(pre[1])) frame = "galactic"; body = body.slice(pre[0].length); }
  const post = /\s+(gal(?:actic)?|icrs)$/i.exec(body);
  if (post) { if (/^gal/i.test(post[1])) frame = "galactic"; body = body.slice(0, post.index); }
  return { body, frame };
}

/** A name pattern as an ADQL ILIKE pattern: * -> %, ? -> _ . */
export function likePattern(name) { return name.replace(/\*/g, "%").replace(/\?/g, "_"); }

/** ADQL condition of target names (case-insensitive, wildcards, | as OR). */
export function nameCondition(names, column = "target_name") {
  const parts = names.map(n => `${column} ILIKE ${adqlString(likePattern(n))}`);
  return parts.length === 1 ? parts[0] : "(" + parts.join(" OR ") + ")";
}

// ------------------------------------------------------------- constraint values

/** Parses a numeric constraint: values and ranges separated by | ("1..2",
 * "<3", ">=4", "5", "1..2|7..9"). Returns [[lo, hi], ...] (null = open).
 * Throws InputError(id, message) naming what is wrong. */
export function parseRanges(id, text, parse = parseFloat, what = "a number") {
  const out = [];
  for (const raw of text.split("|")) {
    const t = raw.trim();
    if (!t) throw new InputError(id, "empty value between '|'");
    let m;
    const val = (s) => {
      const v = parse(s.trim());
      if (v === null || Number.isNaN(v) || (typeof v === "number" && !Number.isFinite(v)) || !/\S/.test(s))
        throw new InputError(id, `'${s.trim()}' is not ${what}`);
      return v;
    };
    if ((m = /^(<=?|>=?|=)\s*(.+)$/.exec(t))) {
      const v = val(m[2]);
      out.push(m[1][0] === "<" ? [null, v] : m[1][0] === ">" ? [v, null] : [v, v]);
    } else if ((m = /^(.*?)\s*\.\.\s*(.*)$/.exec(t)) && !(parse === parseFloat && /^\d*\.?\d*$/.test(t))) {
      const lo = m[1] === "" ? null : val(m[1]);
      const hi = m[2] === "" ? null : val(m[2]);
      if (lo !== null && hi !== null && lo > hi)
        throw new InputError(id, `impossible range: ${m[1].trim()} is above ${m[2].trim()}`);
      out.push([lo, hi]);
    } else {
      const v = val(t);
      out.push([v, v]);
    }
  }
  return out;
}

function strictNumber(s) { return /^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i.test(s.trim()) ? parseFloat(s) : NaN; }

/** ISO date (YYYY, YYYY-MM or YYYY-MM-DD[Thh:mm[:ss]]) -> MJD, or NaN. */
export function isoToMjd(s) {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}(?:\.\d*)?))?)?)?)?$/.exec(s.trim());
  if (!m) return NaN;
  const [y, mo, d, h, mi, se] = [+m[1], m[2] ? +m[2] : 1, m[3] ? +m[3] : 1, m[4] ? +m[4] : 0, m[5] ? +m[5] : 0, m[6] ? +m[6] : 0];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se >= 61) return NaN;
  const ms = Date.UTC(y, mo - 1, d, h, mi, 0) + se * 1000;
  const back = new Date(Date.UTC(y, mo - 1, d));
  if (back.getUTCDate() !== d) return NaN;  // 2021-02-30
  return ms / 86400000 + 40587;
}

/** MJD -> "YYYY-MM-DD". */
export function mjdToIso(mjd) {
  if (mjd === null || mjd === undefined || !Number.isFinite(mjd)) return "";
  return new Date((mjd - 40587) * 86400000).toISOString().slice(0, 10);
}

const C = 299792458;

function rangeCondition(col, [lo, hi]) {
  if (lo !== null && hi !== null) return lo === hi ? `${col} = ${num(lo)}` : `${col} BETWEEN ${num(lo)} AND ${num(hi)}`;
  if (lo !== null) return `${col} >= ${num(lo)}`;
  return `${col} <= ${num(hi)}`;
}

/** Overlap of a row's interval [minCol, maxCol] with [lo, hi]. */
function overlapCondition(minCol, maxCol, [lo, hi]) {
  const parts = [];
  if (hi !== null) parts.push(`${minCol} <= ${num(hi)}`);
  if (lo !== null) parts.push(`${maxCol} >= ${num(lo)}`);
  return parts.join(" AND ") || `${minCol} IS NOT NULL`;
}

function orJoin(parts) { return parts.length === 1 ? parts[0] : "(" + parts.map(p => `(${p})`).join(" OR ") + ")"; }

/** The ADQL condition of one field's text, or "" when empty. Throws InputError. */
export function fieldCondition(field, value) {
  if (field.kind === "flag") return value ? field.sql : "";
  const t = (value ?? "").trim();
  if (!t) return "";
  const col = field.columns[0];
  switch (field.kind) {
    case "number":
      return orJoin(parseRanges(field.id, t, strictNumber).map(([lo, hi]) =>
        rangeCondition(col, [lo === null ? null : lo * field.scale, hi === null ? null : hi * field.scale])));
    case "frequency":  // GHz -> vacuum wavelength in m; the row's band overlaps
      return orJoin(parseRanges(field.id, t, strictNumber).map(([lo, hi]) => {
        if ((lo !== null && lo <= 0) || (hi !== null && hi <= 0)) throw new InputError(field.id, "frequencies are positive (GHz)");
        return overlapCondition("em_min", "em_max", [hi === null ? null : C / (hi * 1e9), lo === null ? null : C / (lo * 1e9)]);
      }));
    case "wavelength":  // nm -> m
      return orJoin(parseRanges(field.id, t, strictNumber).map(([lo, hi]) => {
        if ((lo !== null && lo <= 0) || (hi !== null && hi <= 0)) throw new InputError(field.id, "wavelengths are positive (nm)");
        return overlapCondition("em_min", "em_max", [lo === null ? null : lo * 1e-9, hi === null ? null : hi * 1e-9]);
      }));
    case "date":
      return orJoin(parseRanges(field.id, t, isoToMjd, "a date (YYYY-MM-DD)").map(([lo, hi]) =>
        overlapCondition("t_min", "t_max", [lo, hi === null ? null : (/^\d{4}(-\d{2})?(-\d{2})?$/.test(t) ? hi : hi)])));
    case "choice":
      return `${col} = ${adqlString(t)}`;
    case "text": {
      const names = t.split("|").map(s => s.trim());
      if (names.some(n => !n)) throw new InputError(field.id, "empty value between '|'");
      const pat = (n) => field.contains && !/[*?]/.test(n) ? `%${likePattern(n)}%` : likePattern(n);
      const parts = names.map(n => `${col} ILIKE ${adqlString(pat(n))}`);
      return parts.length === 1 ? parts[0] : "(" + parts.join(" OR ") + ")";
    }
    default:
      throw new Error("unknown field kind " + field.kind);
  }
}

/** Builds the search's ADQL. state: {search: text, fields: {id: value},
 * columns: [...] (shown), maxrec, available: Set of existing column names}.
 * Returns {adql, search, errors: [InputError...]}; with errors, adql is null. */
export function buildQuery(state) {
  const errors = [];
  const where = [];
  let search = { kind: "empty" };
  try {
    search = parseSearch(state.search);
  } catch (e) {
    if (e instanceof InputError) errors.push(e); else throw e;
  }
  if (search.kind === "position") {
    where.push(`1 = INTERSECTS(s_region, CIRCLE('ICRS', ${num(+search.ra.toFixed(8))}, ${num(+search.dec.toFixed(8))}, ${num(+(search.radiusArcmin / 60).toFixed(10))}))`);
  } else if (search.kind === "name") {
    where.push(nameCondition(search.names));
  }
  const available = state.available;
  for (const g of GROUPS) for (const f of g.fields) {
    if (available && !f.columns.every(c => available.has(c))) continue;
    const v = state.fields?.[f.id];
    try {
      const c = fieldCondition(f, v);
      if (c) where.push(c);
    } catch (e) {
      if (e instanceof InputError) errors.push(e); else throw e;
    }
  }
  if (errors.length) return { adql: null, search, errors };
  const cols = [];
  for (const c of [...(state.columns || DEFAULT_COLUMNS), ...REQUIRED_COLUMNS])
    if ((!available || available.has(c)) && !cols.includes(c)) cols.push(c);
  let adql = `SELECT TOP ${state.maxrec || 1000} ${cols.join(", ")}\nFROM ivoa.obscore`;
  if (where.length) adql += "\nWHERE " + where.join("\n  AND ");
  adql += "\nORDER BY " + (available && !available.has("t_min") ? "obs_publisher_did" : "t_min DESC, obs_publisher_did");
  return { adql, search, errors };
}
