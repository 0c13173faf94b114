export function create() {
  return [];
}

export function add(items, product, quantity = 1) {
  items.push({ product, quantity });
}

export const count = (items) => items.reduce((n, item) => n + item.quantity, 0);

export function total(items) {
  return items.reduce((sum, item) => sum + item.product.cents * item.quantity, 0);
}
