// Validates OpenAPI documents with an external OpenAPI 3.1 validator (npm @seriousme/openapi-schema-validator,
// which checks the document against the official OAS 3.1 JSON Schema and that every local $ref resolves), then
// checks every embedded JSON Schema against the JSON Schema 2020-12 meta-schema (the OAS schema leaves Schema
// Objects open, so a malformed `minItems` or `type` would otherwise pass).
//
//   node tests/e2e/validate_openapi.mjs FILE.json [FILE.json ...]
//
// Exit 0 when every file is valid, 1 with one message per problem otherwise, 2 on a usage error.
// Run `scripts/setup.sh` (or `npm ci` in the repository root) first: the packages live in node_modules/.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const requireFromRepo = createRequire(path.join(repo, "package.json"));

let Validator, Ajv2020;
try {
  ({ Validator } = await import(requireFromRepo.resolve("@seriousme/openapi-schema-validator")));
  Ajv2020 = (await import(requireFromRepo.resolve("ajv/dist/2020.js"))).default;
} catch (err) {
  console.error(`validate_openapi: cannot load the validator from ${repo}/node_modules (${err.message}); ` +
                "run scripts/setup.sh (or `npm ci` in the repository root)");
  process.exit(1);
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node tests/e2e/validate_openapi.mjs FILE.json [FILE.json ...]");
  process.exit(2);
}

// Every place an OpenAPI 3.1 document holds a Schema Object (the subset mvi-runtime generates).
function* schemaObjects(doc) {
  for (const [name, schema] of Object.entries(doc.components?.schemas ?? {}))
    yield [`#/components/schemas/${name}`, schema];
  for (const [route, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(item)) {
      const where = `paths[${route}].${method}`;
      for (const [i, p] of (op.parameters ?? []).entries())
        if (p.schema !== undefined) yield [`${where}.parameters[${i}](${p.name})`, p.schema];
      for (const [type, media] of Object.entries(op.requestBody?.content ?? {}))
        if (media.schema !== undefined) yield [`${where}.requestBody[${type}]`, media.schema];
      for (const [status, resp] of Object.entries(op.responses ?? {}))
        for (const [type, media] of Object.entries(resp.content ?? {}))
          if (media.schema !== undefined) yield [`${where}.responses[${status}][${type}]`, media.schema];
    }
  }
}

const validator = new Validator(); // compiles the OpenAPI schemas once, on first use
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
let failures = 0;
for (const file of files) {
  const problems = [];
  let doc;
  try {
    doc = JSON.parse(readFileSync(file, "utf-8"));
  } catch (err) {
    problems.push(`cannot read JSON: ${err.message}`);
  }
  if (doc !== undefined) {
    if (typeof doc.openapi !== "string" || !doc.openapi.startsWith("3.1."))
      problems.push(`"openapi" is ${JSON.stringify(doc.openapi)}, expected 3.1.x`);
    const res = await validator.validate(structuredClone(doc));
    if (!res.valid) {
      const errors = Array.isArray(res.errors) ? res.errors : [res.errors];
      for (const e of errors)
        problems.push(`OpenAPI 3.1: ${e.instancePath || "/"} ${e.message ?? JSON.stringify(e)}` +
                      (e.params ? ` ${JSON.stringify(e.params)}` : ""));
    } else if (validator.version !== "3.1") {
      problems.push(`validated as OpenAPI ${validator.version}, expected 3.1`);
    }
    for (const [where, schema] of schemaObjects(doc)) {
      if (!ajv.validateSchema(schema))
        for (const e of ajv.errors ?? []) problems.push(`JSON Schema 2020-12 at ${where}${e.instancePath}: ${e.message}`);
    }
  }
  if (problems.length) {
    failures++;
    console.log(`INVALID ${file}`);
    for (const p of problems) console.log(`  - ${p}`);
  } else {
    console.log(`valid ${file} (OpenAPI ${doc.openapi})`);
  }
}
process.exit(failures ? 1 : 0);
