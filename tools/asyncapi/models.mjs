// Generates models from an AsyncAPI document with the official generator library
// (@asyncapi/modelina, what `asyncapi generate models` runs), in Python and TypeScript.
// Prints one JSON line: {"python": [model names], "typescript": [model names]}; exits 1
// when the generator fails or makes nothing.
import { readFileSync } from "node:fs";
import { PythonGenerator, TypeScriptGenerator } from "@asyncapi/modelina";

const document = JSON.parse(readFileSync(process.argv[2], "utf8"));
const names = async (generator) => (await generator.generate(document)).map((model) => model.modelName);
const summary = { python: await names(new PythonGenerator()), typescript: await names(new TypeScriptGenerator()) };
console.log(JSON.stringify(summary));
process.exit(summary.python.length && summary.typescript.length ? 0 : 1);
