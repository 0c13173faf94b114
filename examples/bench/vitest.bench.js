// A Vitest benchmark file (`vitest bench`), unchanged.
import { bench, describe } from "vitest";

const text = "The quick brown fox jumps over the lazy dog. ".repeat(20);

describe("splitting words", () => {
  bench("String#split", () => {
    text.split(" ");
  });

  bench("RegExp match", () => {
    text.match(/\S+/g);
  });
});

describe("escaping HTML", () => {
  const html = '<a href="x">Tom & Jerry</a>'.repeat(10);
  const map = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" };

  bench("replace with a function", () => {
    html.replace(/[&<>"]/g, (c) => map[c]);
  });

  bench("chained replaceAll", () => {
    html.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
  });
});
