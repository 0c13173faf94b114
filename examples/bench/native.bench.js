// modrun's own suite form: export the benchmarks; `setup` returns the state `fn` receives.
const numbers = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000);

export const benchmarks = {
  "sort 1k numbers": () => [...numbers].sort((a, b) => a - b),
  "JSON round trip": {
    setup: () => ({ items: numbers.map((n) => ({ id: n, name: `item ${n}`, tags: ["a", "b"] })) }),
    fn: (state) => JSON.parse(JSON.stringify(state)),
  },
  lookups: {
    Map: { setup: () => new Map(numbers.map((n) => [`k${n}`, n])), fn: (map) => map.get("k500") },
    object: { setup: () => Object.fromEntries(numbers.map((n) => [`k${n}`, n])), fn: (object) => object.k500 },
  },
};
