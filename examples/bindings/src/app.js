import env, { find_user } from "modrun:env";

export async function greet(id) {
  const user = await find_user(id);
  return `Hello ${user ? user.name : "stranger"}, from ${env.site.name}`;
}
export async function signed(text) {
  return Array.from(await env.sign(new TextEncoder().encode(text)));  // bytes cross as bytes
}
export function spin() { for (;;) {} }
