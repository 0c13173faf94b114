// Builds libraries.json: the third-party JavaScript of the edge profile, from the npm packages
// pinned in package-lock.json. Run by runner/js/libraries.py (at install time, or by hand):
//
//   npm ci --ignore-scripts && node build.mjs OUT_FILE LICENSES_FILE INPUTS_HASH
//
// Each unit below is bundled on its own by esbuild into one function body and stored as a string:
// the runtime compiles a unit the first time a program touches one of the globals it provides, so
// a runtime that never uses URL never pays for compiling it. Units do not import each other: one
// that needs another's globals (compression needs TransformStream) reads them from the global
// object when it runs. The output is data, `{inputs, units: {name: {provides, source}}, versions}`:
// the runtime receives it as its LIBRARIES (runner/js/bundle.py), and LICENSES_FILE collects the
// licence of every package that went into it.

import { build } from "esbuild";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));

// name -> [the globals it provides, the entry module's source]
const UNITS = {
  streams: [
    ["ReadableStream", "ReadableStreamDefaultReader", "ReadableStreamBYOBReader", "ReadableStreamBYOBRequest",
      "ReadableByteStreamController", "ReadableStreamDefaultController", "TransformStream",
      "TransformStreamDefaultController", "WritableStream", "WritableStreamDefaultWriter",
      "WritableStreamDefaultController", "ByteLengthQueuingStrategy", "CountQueuingStrategy"],
    `export * from "web-streams-polyfill";`,
  ],
  // The lite build (UTF-8, UTF-16 and the single-byte encodings) and its hook for the legacy
  // multi-byte ones (gbk, gb18030, big5, euc-jp, euc-kr, iso-2022-jp, shift_jis), which are the
  // unit below, compiled only when a program decodes or encodes one of them. The hook is not in
  // the package's exports: it is reached by its file, the same module encoding-lite.js imports.
  encoding: [
    ["TextEncoder", "TextDecoder", "TextEncoderStream", "TextDecoderStream"],
    `export { TextEncoder, TextDecoder, TextEncoderStream, TextDecoderStream } from "@exodus/bytes/encoding-lite.js";
     export { setMultibyte } from "./node_modules/@exodus/bytes/fallback/encoding.js";`,
  ],
  multibyte: [
    [],
    `export { createMultibyteDecoder } from "@exodus/bytes/multi-byte.js";
     export { multibyteEncoder } from "./node_modules/@exodus/bytes/fallback/multi-byte.js";`,
  ],
  url: [
    ["URL", "URLSearchParams"],
    `export { URL, URLSearchParams } from "whatwg-url";`,
  ],
  urlpattern: [
    ["URLPattern"],
    `export { URLPattern } from "urlpattern-polyfill/urlpattern";`,
  ],
  events: [
    ["Event", "EventTarget"],
    `export { Event, EventTarget, setErrorHandler, setWarningHandler } from "event-target-shim";`,
  ],
  structuredClone: [
    ["structuredClone"],
    `export { default as structuredClone } from "core-js-pure/actual/structured-clone";`,
  ],
  compression: [
    ["CompressionStream", "DecompressionStream"],
    // The classes are made by the profile (edge/profile.js), over its own TransformStream.
    `export { makeCompressionStream, makeDecompressionStream } from "compression-streams-polyfill/ponyfill";`,
  ],
  chacha20: [
    [],
    `export { chacha20 } from "@noble/ciphers/chacha.js";`,
  ],
};

// JSON data becomes a JSON.parse of a string: QuickJS compiles a large literal far slower than it
// parses the same JSON (whatwg-url's IDNA mapping table).
const jsonAsText = {
  name: "json-as-text",
  setup(builder) {
    builder.onLoad({ filter: /\.json$/ }, (args) => {
      const text = JSON.stringify(JSON.parse(readFileSync(args.path, "utf8")));
      return { contents: `module.exports = JSON.parse(${JSON.stringify(text)});`, loader: "js" };
    });
  },
};

async function bundle(name, entry, packages) {
  const result = await build({
    stdin: { contents: entry, resolveDir: HERE, sourcefile: `${name}.entry.js` },
    bundle: true,
    format: "iife",
    globalName: "__unit",
    platform: "neutral",
    mainFields: ["module", "main"],
    // The URL parser's optional legacy multi-byte encodings: the edge profile's TextDecoder is the
    // lite build (UTF-8, UTF-16 and the single-byte encodings), so the URL parser uses that too.
    alias: { "@exodus/bytes/encoding.js": "@exodus/bytes/encoding-lite.js" },
    target: "es2022",
    minify: true,
    // Web API classes keep their names (ReadableStream.name, what console and errors print).
    keepNames: true,
    legalComments: "none",
    metafile: true,
    write: false,
    plugins: [jsonAsText],
    logLevel: "error",
  });
  for (const input of Object.keys(result.metafile.inputs)) {
    const at = input.lastIndexOf("node_modules/");
    if (at < 0) continue;
    const parts = input.slice(at + "node_modules/".length).split("/");
    packages.add(parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]);
  }
  return `${result.outputFiles[0].text}\nreturn __unit;`;
}

function licenses(packages) {
  const out = [];
  for (const name of [...packages].sort()) {
    const directory = join(HERE, "node_modules", ...name.split("/"));
    const manifest = JSON.parse(readFileSync(join(directory, "package.json"), "utf8"));
    const file = readdirSync(directory).find((entry) => /^licen[cs]e/i.test(entry));
    const text = file ? readFileSync(join(directory, file), "utf8") : "";
    if (!text) throw new Error(`${name} ships no licence file: cannot bundle it without its notice`);
    out.push(`${"=".repeat(78)}\n${name} ${manifest.version} (${manifest.license})\n${"=".repeat(78)}\n\n${text.trim()}\n`);
  }
  return out.join("\n");
}

const [outFile, licensesFile, inputsHash] = process.argv.slice(2);
if (!outFile || !licensesFile || !inputsHash) {
  console.error("usage: node build.mjs OUT_FILE LICENSES_FILE INPUTS_HASH");
  process.exit(2);
}
const packages = new Set();
const units = {};
const versions = {};
for (const [name, [provides, entry]] of Object.entries(UNITS)) {
  units[name] = { provides, source: await bundle(name, entry, packages) };
}
for (const name of packages) {
  versions[name] = JSON.parse(readFileSync(join(HERE, "node_modules", ...name.split("/"), "package.json"), "utf8")).version;
}
const text = JSON.stringify({ inputs: inputsHash, generatedBy: "runner/js/vendor/build.mjs", units, versions });
writeFileSync(outFile, text);
writeFileSync(licensesFile, licenses(packages));
console.log(`${outFile}: ${Object.keys(units).length} units, ${text.length} bytes, from ${packages.size} packages`);
