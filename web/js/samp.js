// SAMP Web Profile (SAMP 1.3 section 5) client, just enough to send a table
// to TOPCAT or Aladin: register with the hub at localhost:21012 over
// XML-RPC, notify table.load.votable with the table's URL, unregister.
const HUB = "http://localhost:21012/";

function xmlValue(v) {
  if (typeof v === "string") return `<value><string>${v.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</string></value>`;
  if (Array.isArray(v)) return `<value><array><data>${v.map(xmlValue).join("")}</data></array></value>`;
  return `<value><struct>${Object.entries(v).map(([k, x]) => `<member><name>${k}</name>${xmlValue(x)}</member>`).join("")}</struct></value>`;
}

function parseValue(node) {
  const c = node.firstElementChild;
  if (!c) return node.textContent;
  switch (c.tagName) {
    case "string": return c.textContent;
    case "struct": {
      const o = {};
      for (const m of c.children) o[m.getElementsByTagName("name")[0].textContent] = parseValue(m.getElementsByTagName("value")[0]);
      return o;
    }
    case "array": return [...c.firstElementChild.children].map(parseValue);
    default: return c.textContent;
  }
}

async function call(method, params) {
  const body = `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params.map(p => `<param>${xmlValue(p)}</param>`).join("")}</params></methodCall>`;
  const r = await fetch(HUB, { method: "POST", body, headers: { "Content-Type": "text/xml" } });
  const doc = new DOMParser().parseFromString(await r.text(), "text/xml");
  const fault = doc.getElementsByTagName("fault")[0];
  if (fault) throw new Error("SAMP hub: " + JSON.stringify(parseValue(fault.getElementsByTagName("value")[0])));
  const v = doc.querySelector("params > param > value");
  return v ? parseValue(v) : null;
}

/** Sends the VOTable at `url` to every SAMP client (TOPCAT, Aladin);
 * resolves to a message for the user; rejects with "no SAMP hub" when none answers. */
export async function sendTable(url, name) {
  let reg;
  try {
    reg = await call("samp.webhub.register", [{ "samp.name": "voserver portal" }]);
  } catch (e) {
    if (e instanceof TypeError) throw new Error("no SAMP hub is running (start TOPCAT or Aladin, then try again)");
    throw e;
  }
  const key = reg["samp.private-key"];
  try {
    await call("samp.webhub.declareMetadata", [key, { "samp.name": "voserver portal", "samp.description.text": "voserver archive portal" }]);
    await call("samp.webhub.notifyAll", [key, { "samp.mtype": "table.load.votable", "samp.params": { url, name } }]);
  } finally {
    await call("samp.webhub.unregister", [key]).catch(() => {});
  }
  return "sent to the SAMP clients (TOPCAT, Aladin)";
}
