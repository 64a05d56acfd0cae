// Validates an AsyncAPI document with the official parser (@asyncapi/parser), as
// `asyncapi validate` does. Prints one JSON line: {"errors": [...], "warnings": [...]};
// exits 1 when the parser reports an error or returns no document.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const path = process.argv[2];
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(path, "utf8"), { source: path });
const describe = (d) => ({ code: d.code, message: d.message, path: d.path.join("/") });
const errors = diagnostics.filter((d) => d.severity === 0).map(describe);
const warnings = diagnostics.filter((d) => d.severity === 1).map(describe);
const summary = { errors, warnings, operations: document ? document.operations().length : 0,
                  messages: document ? document.allMessages().length : 0,
                  schemas: document ? document.components().schemas().length : 0 };
console.log(JSON.stringify(summary));
process.exit(document && errors.length === 0 ? 0 : 1);
