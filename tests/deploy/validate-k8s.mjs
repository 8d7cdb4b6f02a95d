// validate-k8s.mjs — validates Kubernetes objects against the API's OpenAPI
// schemas, offline, with the npm package kubernetes-models (types, enums,
// required fields, formats; it does NOT reject unknown fields, which
// validate.py covers for the keys keel relies on).
//
// stdin: a JSON array of {"file": "...", "object": {...}}.
// Prints one line per object; exit 1 if any is invalid or of an unknown kind.
import { readFileSync } from "node:fs";

const docs = JSON.parse(readFileSync(0, "utf8"));
let bad = 0;
for (const { file, object } of docs) {
  const api = String(object.apiVersion || "");
  const kind = String(object.kind || "");
  const where = `${file}: ${kind}/${object?.metadata?.name ?? "?"}`;
  // "v1" → kubernetes-models/v1/Kind; "apps/v1" → kubernetes-models/apps/v1/Kind
  const path = `kubernetes-models/${api}/${kind}`;
  let Model;
  try {
    Model = (await import(path))[kind];
  } catch (e) {
    console.log(`FAIL - ${where}: no schema for ${api} ${kind}`);
    bad++;
    continue;
  }
  try {
    new Model(object).validate();
    console.log(`ok   - ${where} valid against ${api} ${kind}`);
  } catch (e) {
    console.log(`FAIL - ${where}: ${e.message}`);
    bad++;
  }
}
process.exit(bad ? 1 : 0);
