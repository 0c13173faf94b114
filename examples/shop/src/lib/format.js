export const currency = "EUR";

export function formatPrice(cents) {
  return `${(cents / 100).toFixed(2)} ${currency}`;
}
