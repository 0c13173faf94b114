// A tiny server-side renderer: the default export renders a page for a path.
import products from "./products.json" with { type: "json" };
import { formatPrice } from "./lib/format.js";
import * as cart from "./lib/cart.js";
import { html } from "./lib/html.js";

export const title = "modrun shop";

export default function render(path = "/") {
  const items = cart.create();
  for (const product of products.slice(0, 2)) cart.add(items, product, 2);
  const rows = products.map((p) => html`<li>${p.name}: ${formatPrice(p.cents)}</li>`);
  return {
    path,
    html: String(html`<h1>${title}</h1><ul>${rows}</ul>`),
    total: formatPrice(cart.total(items)),
    count: cart.count(items),
  };
}

export async function renderLater(path) {
  await null;
  return render(path).html;
}
