// validate.mjs — checks keel's /openapi.json, offline:
//   1. the document is valid OpenAPI 3.1 (@apidevtools/swagger-parser, pinned
//      in package-lock.json: structure against the official 3.1 schema, and
//      every $ref resolves);
//   2. every method /v1/modules lists is a POST path, and no path names a
//      method that is not served.
// argv: openapi.json modules.json.  Prints ok/FAIL lines; exit 1 on a failure.
import { readFileSync } from "node:fs";
import SwaggerParser from "@apidevtools/swagger-parser";

const [docPath, modulesPath] = process.argv.slice(2);
const doc = JSON.parse(readFileSync(docPath, "utf8"));
const modules = JSON.parse(readFileSync(modulesPath, "utf8")).modules;
let bad = 0;
const ok = (m) => console.log(`ok   - ${m}`);
const fail = (m) => { console.log(`FAIL - ${m}`); bad++; };

try {
  await SwaggerParser.validate(structuredClone(doc));
  ok(`valid OpenAPI ${doc.openapi} (swagger-parser)`);
} catch (e) {
  fail(`swagger-parser: ${e.message}`);
}
doc.openapi === "3.1.0" ? ok("openapi 3.1.0") : fail(`openapi is ${doc.openapi}`);

const served = new Set();
for (const m of modules) {
  if (m.placement === "none") continue;
  for (const meth of m.methods) served.add(`/v1/${m.name}/${meth.name}`);
}
let missing = 0;
for (const p of served) {
  const op = doc.paths?.[p]?.post;
  if (!op) { fail(`${p} is served but missing from /openapi.json`); missing++; continue; }
  if (!op.requestBody?.content?.["application/json"]?.schema) { fail(`${p}: no input schema`); missing++; }
  if (!op.responses?.["200"]?.content?.["application/json"]?.schema) { fail(`${p}: no output schema`); missing++; }
}
if (!missing) ok(`all ${served.size} served methods present, each with input and output schema`);
for (const p of Object.keys(doc.paths)) {
  if (p.startsWith("/v1/") && p !== "/v1/modules" && !served.has(p)) fail(`${p} is documented but not served`);
}
process.exit(bad ? 1 : 0);
