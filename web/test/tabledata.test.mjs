// node --test web/test : the TABLEDATA string scan of web/js/tap.js.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tabledataRows } from "../js/tap.js";

test("cells: empty, self-closed, entities, character references, CDATA", () => {
  const s = "<TR><TD>a &amp; b</TD><TD/><TD></TD><TD>&lt;x&gt; &#233;&#x41;</TD></TR>\n" +
    "<TR><TD><![CDATA[<raw & text>]]></TD><TD>2</TD><TD>3</TD><TD>O&apos;Brien &quot;q&quot;</TD></TR>";
  assert.deepEqual(tabledataRows(s, 4), [
    ["a & b", null, null, "<x> éA"],
    ["<raw & text>", "2", "3", "O'Brien \"q\""],
  ]);
});

test("short rows are padded with nulls; no rows", () => {
  assert.deepEqual(tabledataRows("<TR><TD>1</TD></TR>", 3), [["1", null, null]]);
  assert.deepEqual(tabledataRows("", 2), []);
});
