const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export const escape = (text) => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);

// Markup that is already safe: html`` returns it, and it is not escaped again when nested.
class SafeHtml {
  constructor(text) {
    this.text = text;
  }
  toString() {
    return this.text;
  }
}

const piece = (value) =>
  value instanceof SafeHtml ? value.text : Array.isArray(value) ? value.map(piece).join("") : escape(value);

export function html(strings, ...values) {
  let out = strings[0];
  values.forEach((value, i) => {
    out += piece(value) + strings[i + 1];
  });
  return new SafeHtml(out);
}
