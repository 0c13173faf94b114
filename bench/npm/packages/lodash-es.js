// lodash-es's full index (lodash.js: every function, re-exported by name), by name and as a namespace.
import * as _ from "lodash-es";
import { chunk, camelCase, sortBy } from "lodash-es";

const sorted = sortBy([{ n: 3 }, { n: 1 }, { n: 2 }], "n").map((o) => o.n);
console.log(JSON.stringify({ exports: Object.keys(_).length, chunk: chunk([1, 2, 3, 4, 5], 2),
                             name: camelCase("Foo Bar"), sorted }));
