"""Entry modules that import real npm packages (tests/npm/packages), each printing what it computed.

Each case runs under Node and under modrun (every evaluator) from the installed packages' folder,
and the printed lines must be the same. `conditions` is the environment's condition set for
modrun (Node always uses its own: node, import/require, default).
"""

from __future__ import annotations

from typing import NamedTuple


class Case(NamedTuple):
    file: str
    source: str
    conditions: str | None = None  # a condition set for modrun; None: the profile's


# TextEncoder is not part of the bare profile (the edge profile will provide it); react-dom's browser
# build creates one at load time.
TEXT_ENCODER = """\
if (typeof globalThis.TextEncoder === "undefined") {
  globalThis.TextEncoder = class TextEncoder {
    get encoding() { return "utf-8"; }
    encode(text = "") {
      const bytes = [];
      for (const ch of String(text)) {
        let c = ch.codePointAt(0);
        if (c < 0x80) bytes.push(c);
        else if (c < 0x800) bytes.push(0xc0 | (c >> 6), 0x80 | (c & 63));
        else if (c < 0x10000) bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
        else bytes.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      }
      return new Uint8Array(bytes);
    }
  };
}
"""

REACT_APP = """\
function Item({ label, done }) {
  return React.createElement("li", { className: done ? "done" : null }, label, done && " \\u2713");
}
function Counter({ start }) {
  const [count] = React.useState(start);
  const id = React.useId();
  return React.createElement("output", { id, "data-count": count }, `count: ${count}`);
}
const Theme = React.createContext("light");
function Themed() {
  return React.createElement("p", null, "theme ", React.useContext(Theme));
}
function App({ items }) {
  return React.createElement(
    React.Fragment, null,
    React.createElement("h1", { title: "a \\"quoted\\" <title>" }, "Hello & welcome"),
    React.createElement("ul", null, items.map((item) => React.createElement(Item, { key: item.label, ...item }))),
    React.createElement(Counter, { start: 3 }),
    React.createElement(Theme.Provider, { value: "dark" }, React.createElement(Themed)),
    React.createElement("div", { dangerouslySetInnerHTML: { __html: "<b>raw</b>" } }),
    React.createElement("input", { type: "checkbox", defaultChecked: true, style: { marginTop: 4 } }),
  );
}
const items = [{ label: "one", done: true }, { label: "two", done: false }, { label: "<three>", done: false }];
"""

CASES: dict[str, Case] = {
    "lodash-es": Case("lodash_es.mjs", """\
import * as _ from "lodash-es";
import debounce from "lodash-es/debounce.js";
console.log(Object.keys(_).length, typeof _.default, debounce === _.debounce);
console.log(JSON.stringify([
  _.chunk([1, 2, 3, 4, 5], 2), _.camelCase("Foo Bar-baz"), _.uniqBy([{ a: 1 }, { a: 1 }, { a: 2 }], "a"),
  _.sortBy([{ n: "b", a: 2 }, { n: "a", a: 1 }], ["a"]), _.template("hi <%= who %>!")({ who: "you" }),
  _.merge({ a: { b: 1 } }, { a: { c: [2] } }), _.cloneDeep({ d: [1, { e: 2 }] }), _.range(0, 10, 3),
  _.groupBy(["one", "two", "three"], "length"), _.escape("<a & b>"), _.isEqual({ a: [1] }, { a: [1] }),
]));
"""),
    "date-fns": Case("date_fns.mjs", """\
import * as dates from "date-fns";
import { format, addDays, differenceInCalendarDays, formatDistanceStrict, parseISO, eachDayOfInterval } from "date-fns";
const start = new Date(Date.UTC(2024, 0, 15, 10, 30));
console.log(Object.keys(dates).length);
console.log(JSON.stringify([
  format(parseISO("2024-02-29"), "yyyy-MM-dd EEEE do"), addDays(start, 20).toISOString(),
  differenceInCalendarDays(new Date(Date.UTC(2024, 11, 25)), start),
  formatDistanceStrict(start, addDays(start, 45)), eachDayOfInterval({ start, end: addDays(start, 3) }).length,
  dates.isLeapYear(start), dates.getISOWeek(start),
]));
"""),
    "zod": Case("zod.mjs", """\
import { z } from "zod";
const User = z.object({
  name: z.string().min(2),
  age: z.number().int().positive(),
  email: z.string().email(),
  tags: z.array(z.enum(["a", "b"])).default([]),
  role: z.union([z.literal("admin"), z.literal("user")]).optional(),
});
console.log(JSON.stringify(User.parse({ name: "Ada", age: 36, email: "ada@example.com" })));
const bad = User.safeParse({ name: "A", age: -1.5, email: "nope", tags: ["c"], role: "root" });
console.log(bad.success, JSON.stringify(bad.error.issues.map(({ code, path, message }) => ({ code, path, message }))));
console.log(JSON.stringify(z.coerce.number().array().parse(["1", "2.5"])));
"""),
    "markdown-it": Case("markdown_it.mjs", """\
import MarkdownIt from "markdown-it";
const md = new MarkdownIt({ linkify: true, typographer: true });
console.log(JSON.stringify(md.render(
  "# Title\\n\\nSome *emphasis*, **strong**, `code` and a [link](https://example.com \\"t\\").\\n\\n" +
  "- one\\n- two\\n\\n1. first\\n2. second\\n\\n> quote -- with (c) typographer\\n\\n" +
  "```js\\nconst x = 1 < 2;\\n```\\n\\nVisit www.example.org/páth now.\\n\\n| a | b |\\n|---|---|\\n| 1 | 2 |\\n")));
console.log(JSON.stringify(md.renderInline("__x__ & <y>")));
"""),
    "react-esm": Case("react_esm.mjs", """\
import "./text_encoder.mjs";
import React from "react";
import { renderToString, renderToStaticMarkup } from "react-dom/server";
""" + REACT_APP + """\
console.log(renderToString(React.createElement(App, { items })));
console.log(renderToStaticMarkup(React.createElement(Item, { label: "static", done: true })));
console.log(typeof React.useState, React.version.split(".")[0]);
""", conditions="edge"),
    "react-cjs": Case("react_cjs.cjs", """\
require("./text_encoder.cjs");
const React = require("react");
const { renderToString } = require("react-dom/server");
""" + REACT_APP + """\
console.log(renderToString(React.createElement(App, { items })));
""", conditions="edge"),
    "cjs-interop": Case("cjs_interop.mjs", """\
import ms from "ms";
import * as msNamespace from "ms";
import cookie, { parse, serialize } from "cookie";
import * as cookieNamespace from "cookie";
import classNames from "classnames";
import * as classNamesNamespace from "classnames";
import clsx from "clsx";
console.log(ms("2 days"), ms(60000), ms(1500, { long: true }), Object.keys(msNamespace).join());
console.log(JSON.stringify(parse("a=1; b=hello%20world")), serialize("x", "y z", { httpOnly: true, maxAge: 60 }));
console.log(Object.keys(cookieNamespace).join(), typeof cookie.parse, cookie.__esModule);
console.log(classNames("a", { b: true, c: false }, ["d", { e: 1 }]), Object.keys(classNamesNamespace).join());
console.log(clsx("x", null, { y: 1 }));
"""),
    "cjs-require": Case("cjs_require.cjs", """\
const ms = require("ms");
const cookie = require("cookie");
const classNames = require("classnames");
const semver = require("semver");
const { satisfies } = require("semver");
console.log(ms("1h"), JSON.stringify(cookie.parse("k=v")), classNames("a", { b: 1 }));
console.log(semver.valid("1.2.3-beta.1"), satisfies("1.4.0", "^1.2.0 <1.5"), semver.inc("1.2.3", "minor"),
  semver.sort(["1.10.0", "1.2.0", "1.9.9"]).join(" "));
console.log(typeof require.resolve, require.resolve("ms").endsWith("/node_modules/ms/index.js"));
"""),
    "semver-named": Case("semver_named.mjs", """\
import * as semver from "semver";
import { satisfies, maxSatisfying } from "semver";
console.log(Object.keys(semver).join());
console.log(satisfies("2.0.0", ">=1"), maxSatisfying(["1.0.0", "1.5.2", "2.0.0"], "~1.5.0"));
"""),
    "imports-map": Case("imports_map.mjs", """\
import chalk, { Chalk, supportsColor } from "chalk";
const colors = new Chalk({ level: 1 });
console.log(JSON.stringify([colors.red.bold("x"), colors.bgBlue("y"), chalk.level, supportsColor]));
"""),
    "qs": Case("qs.mjs", """\
import qs from "qs";
console.log(qs.stringify({ a: [1, 2], b: { c: "d e" }, f: null }), JSON.stringify(qs.parse("a[b][c]=1&d[]=x&d[]=y")));
""", conditions="edge"),
    "dayjs": Case("dayjs.mjs", """\
import dayjs from "dayjs";
const day = dayjs("2024-03-10T12:00:00Z");
console.log(day.add(1, "month").format("YYYY-MM-DD"), day.startOf("year").toISOString(), day.isValid(),
  dayjs("2024-01-01").diff("2023-01-01", "day"));
"""),
    "superjson": Case("superjson.mjs", """\
import superjson from "superjson";
const text = superjson.stringify({ when: new Date(0), ids: new Set([1, 2]), map: new Map([["k", 1n]]), u: undefined });
console.log(text);
const back = superjson.parse(text);
console.log(back.when instanceof Date, back.ids.has(2), typeof back.map.get("k"), "u" in back);
"""),
}

SUPPORT = {
    "text_encoder.mjs": TEXT_ENCODER,
    "text_encoder.cjs": TEXT_ENCODER,
}
