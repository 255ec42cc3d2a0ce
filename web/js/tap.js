// voserver's public services seen from the browser: TAP sync/async, VOTable
// parsing, DataLink, and the signed-in user's credentials (HTTP Basic, kept in
// this page's memory only and sent with every fetch). Everything the portal
// does goes through these URLs, so a script can do the same.

/** The service root: the portal lives at <base>/portal/. */
export const BASE = typeof document === "undefined" ? "" : new URL("..", document.baseURI).href.replace(/\/$/, "");

// The signed-in user's credentials live in this module's memory only, never in
// sessionStorage or localStorage: a Basic header is the password itself (base64
// is no encryption), storage is readable by every script of the origin for the
// tab's life, and browsers write sessionStorage to disk to restore sessions.
// The price: a reload or the other portal page (query <-> ADQL) asks to sign in
// again.
let signedIn = null;  // {user, authorization} or null
// what an earlier version of the portal kept in sessionStorage is removed
if (typeof sessionStorage !== "undefined") sessionStorage.removeItem("voserver.basic");

/** The value of an HTTP Basic Authorization header (RFC 7617 section 2:
 * "Basic " + base64 of the UTF-8 "user:password"). */
export function basicAuthorization(user, password) {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  return "Basic " + btoa(String.fromCharCode(...bytes));
}

/** The signed-in user's credentials {user, authorization} or null. */
export function credentials() { return signedIn; }

/** Keeps Basic credentials in memory (after /auth/whoami accepted them). */
export function setCredentials(user, password) {
  signedIn = { user, authorization: basicAuthorization(user, password) };
}

/** Forgets the credentials (sign-out). */
export function clearCredentials() { signedIn = null; }

/** fetch with the signed-in user's Authorization header. */
export function authFetch(url, init = {}) {
  const c = credentials();
  const headers = new Headers(init.headers || {});
  if (c) headers.set("Authorization", c.authorization);
  return fetch(url, { ...init, headers });
}

/** GET /auth/whoami with the given (or stored) credentials: {user, staff, projects}. */
export async function whoami(authorization) {
  const headers = authorization ? { Authorization: authorization } : {};
  const r = authorization ? await fetch(BASE + "/auth/whoami", { headers }) : await authFetch(BASE + "/auth/whoami");
  const text = await r.text();
  if (!r.ok) throw new Error(errorText(text) || `HTTP ${r.status}`);
  return JSON.parse(text);
}

/** The message of a DALI error document (INFO name="QUERY_STATUS" value="ERROR"). */
export function errorText(text) {
  if (!text || !text.includes("QUERY_STATUS")) return text ? text.trim().slice(0, 500) : "";
  const doc = new DOMParser().parseFromString(text, "application/xml");
  for (const info of doc.getElementsByTagName("INFO"))
    if (info.getAttribute("name") === "QUERY_STATUS") return (info.textContent || "").trim();
  return text.slice(0, 500);
}

const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** XML character data with its entity and character references resolved. */
function xmlText(s) {
  if (s.indexOf("&") < 0) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e) =>
    e[0] === "#" ? String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)) : (ENTITIES[e] ?? m));
}

/** The TDs of a TABLEDATA text (the part between <TABLEDATA> and </TABLEDATA>)
 * as rows of strings (null for an empty cell). A string scan: the XML parser
 * takes ~10 times as long on a 1,000-row result. voserver writes TR/TD without
 * attributes; a TD with attributes or CDATA is read too. */
export function tabledataRows(s, ncol) {
  const rows = [];
  let pos = 0;
  for (;;) {
    const tr = s.indexOf("<TR", pos);
    if (tr < 0) break;
    const trEnd = s.indexOf("</TR>", tr);
    if (trEnd < 0) break;
    const row = new Array(ncol).fill(null);
    let p = s.indexOf(">", tr) + 1, j = 0;
    while (j < ncol) {
      const td = s.indexOf("<TD", p);
      if (td < 0 || td > trEnd) break;
      const close = s.indexOf(">", td);
      if (s[close - 1] === "/") { p = close + 1; ++j; continue; }  // <TD/>
      const end = s.indexOf("</TD>", close);
      let text = s.slice(close + 1, end);
      if (text.startsWith("<![CDATA[")) text = text.slice(9, -3); else text = xmlText(text);
      row[j++] = text === "" ? null : text;
      p = end + 5;
    }
    rows.push(row);
    pos = trEnd + 5;
  }
  return rows;
}

/** A parsed VOTable table: {fields: [{name, datatype, unit, ucd, arraysize, xtype, description}],
 * rows: [[...]], overflow, info: {name: value}}. Numbers become numbers. The
 * metadata is read by the XML parser, TABLEDATA rows by a string scan. */
export function parseVOTable(text) {
  const start = text.indexOf("<TABLEDATA>");
  const end = start < 0 ? -1 : text.lastIndexOf("</TABLEDATA>");
  const skeleton = start < 0 || end < 0 ? text : text.slice(0, start + 11) + text.slice(end);
  const doc = new DOMParser().parseFromString(skeleton, "application/xml");
  const err = doc.getElementsByTagName("parsererror")[0];
  if (err) throw new Error("the response is not a VOTable");
  const info = {};
  for (const i of doc.getElementsByTagName("INFO")) info[i.getAttribute("name")] = i.getAttribute("value");
  const resource = [...doc.getElementsByTagName("RESOURCE")].find(r => r.getAttribute("type") === "results") ||
    doc.getElementsByTagName("RESOURCE")[0];
  if (info.QUERY_STATUS === "ERROR") {
    const e = new Error(errorText(text));
    e.dali = true;
    throw e;
  }
  const table = resource ? resource.getElementsByTagName("TABLE")[0] : null;
  if (!table) return { fields: [], rows: [], overflow: info.QUERY_STATUS === "OVERFLOW", info };
  const fields = [...table.getElementsByTagName("FIELD")].map(f => ({
    name: f.getAttribute("name"), datatype: f.getAttribute("datatype"), unit: f.getAttribute("unit") || "",
    ucd: f.getAttribute("ucd") || "", arraysize: f.getAttribute("arraysize"), xtype: f.getAttribute("xtype") || "",
    description: (f.getElementsByTagName("DESCRIPTION")[0]?.textContent || "").trim(),
  }));
  const numeric = fields.map(f => ["double", "float", "int", "long", "short", "unsignedByte"].includes(f.datatype) && !f.arraysize);
  const rows = start < 0 ? [] : tabledataRows(text.slice(start + 11, end), fields.length);
  for (const row of rows)
    for (let j = 0; j < row.length; ++j) if (numeric[j] && row[j] !== null) row[j] = Number(row[j]);
  // the QUERY_STATUS after the table says OVERFLOW when MAXREC cut the result
  const overflow = [...resource.getElementsByTagName("INFO")].some(i => i.getAttribute("name") === "QUERY_STATUS" && i.getAttribute("value") === "OVERFLOW");
  return { fields, rows, overflow, info };
}

/** The URL of a TAP sync query in a format (votable, csv, tsv, fits). */
export function syncUrl(adql, format = "votable", maxrec) {
  const p = new URLSearchParams({ LANG: "ADQL", REQUEST: "doQuery", QUERY: adql, RESPONSEFORMAT: format });
  if (maxrec) p.set("MAXREC", String(maxrec));
  return `${BASE}/tap/sync?${p}`;
}

/** Runs ADQL through /tap/sync (POST); resolves to a parsed table; rejects
 * with the DALI error text (its `status` set). `signal` aborts it (the
 * server cancels the query when the connection closes). */
export async function tapSync(adql, { maxrec, signal } = {}) {
  const body = new URLSearchParams({ LANG: "ADQL", REQUEST: "doQuery", QUERY: adql, RESPONSEFORMAT: "votable" });
  if (maxrec) body.set("MAXREC", String(maxrec));
  const t0 = performance.now();
  const r = await authFetch(BASE + "/tap/sync", { method: "POST", body, signal });
  const text = await r.text();
  if (!r.ok) {
    const e = new Error(errorText(text) || `HTTP ${r.status}`);
    e.status = r.status;
    throw e;
  }
  const t1 = performance.now();
  const table = parseVOTable(text);
  table.timing = { fetch: t1 - t0, parse: performance.now() - t1, bytes: text.length };
  return table;
}

/** Creates and runs an async TAP job (TAP 1.1 section 2.2); returns its URL. */
export async function tapAsync(adql, format = "votable", maxrec) {
  const body = new URLSearchParams({ LANG: "ADQL", REQUEST: "doQuery", QUERY: adql, RESPONSEFORMAT: format, PHASE: "RUN" });
  if (maxrec) body.set("MAXREC", String(maxrec));
  const r = await authFetch(BASE + "/tap/async", { method: "POST", body, redirect: "follow" });
  if (!r.ok) throw new Error(errorText(await r.text()) || `HTTP ${r.status}`);
  // the 303 was followed: r.url is the job
  const url = r.url.replace(/\/phase$/, "");
  const jobs = JSON.parse(sessionStorage.getItem("voserver.jobs") || "[]");
  jobs.unshift({ url, adql, created: new Date().toISOString() });
  sessionStorage.setItem("voserver.jobs", JSON.stringify(jobs.slice(0, 50)));
  return url;
}

/** A UWS job document's fields: {jobId, phase, results: [{id, href}], error}. */
export async function jobInfo(url) {
  const r = await authFetch(url);
  const text = await r.text();
  if (!r.ok) throw new Error(errorText(text) || `HTTP ${r.status}`);
  const doc = new DOMParser().parseFromString(text, "application/xml");
  const get = (tag) => doc.getElementsByTagNameNS("*", tag)[0]?.textContent?.trim() || "";
  const results = [...doc.getElementsByTagNameNS("*", "result")].map(e => ({
    id: e.getAttribute("id"), href: e.getAttributeNS("http://www.w3.org/1999/xlink", "href") || e.getAttribute("xlink:href"),
  }));
  return { jobId: get("jobId"), phase: get("phase"), results, error: get("message"), url };
}

/** Runs an async job to its end (polling with WAIT) and returns its parsed result. */
export async function tapAsyncResult(adql, maxrec, onPhase) {
  const url = await tapAsync(adql, "votable", maxrec);
  for (;;) {
    const r = await authFetch(`${url}?WAIT=10`);
    if (!r.ok) throw new Error(errorText(await r.text()));
    const job = await jobInfo(url);
    onPhase?.(job.phase);
    if (job.phase === "COMPLETED") {
      const res = await authFetch(job.results[0].href);
      return parseVOTable(await res.text());
    }
    if (job.phase === "ERROR" || job.phase === "ABORTED") {
      const er = await authFetch(`${url}/error`);
      throw new Error(errorText(await er.text()) || job.phase);
    }
  }
}

/** DataLink {links} of many IDs (POST): [{ID, access_url, service_def, error_message,
 * semantics, description, content_type, content_length, link_auth, link_authorized}]. */
export async function datalink(ids) {
  const body = new URLSearchParams();
  for (const id of ids) body.append("ID", id);
  const r = await authFetch(BASE + "/datalink/sync", { method: "POST", body });
  const text = await r.text();
  if (!r.ok) throw new Error(errorText(text) || `HTTP ${r.status}`);
  const t = parseVOTable(text);
  return t.rows.map(row => Object.fromEntries(t.fields.map((f, i) => [f.name, row[i]])));
}

/** The column names of ivoa.obscore (TAP_SCHEMA), with units and descriptions. */
export async function obscoreColumns() {
  const t = await tapSync("SELECT column_name, unit, description, datatype FROM TAP_SCHEMA.columns WHERE table_name = 'ivoa.obscore'");
  return t.rows.map(r => ({ name: r[0], unit: r[1] || "", description: r[2] || "", datatype: r[3] }));
}
