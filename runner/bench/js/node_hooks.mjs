// Module hooks for the Node runtime of `modrun bench`: the benchmark libraries' names resolve to
// modrun's adapters, as they do in modrun's evaluators, so Node runs the same suite with the same adapter.

let modules = {};

export function initialize(data) {
  modules = data.modules;
}

export async function resolve(specifier, context, next) {
  const url = modules[specifier];
  if (url !== undefined) return { url, format: "module", shortCircuit: true };
  return next(specifier, context);
}
