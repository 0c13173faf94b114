// The Node side of bench/timers.py: the fixture's workloads, printed as one line of JSON.
//     node timers.mjs FIXTURE LATENESS_MS LATENESS_N BURST_N CHAIN_N
import { pathToFileURL } from "node:url";

const [fixture, ms, n, burstN, chainN] = process.argv.slice(2);
const timers = await import(pathToFileURL(fixture).href);
const out = {
  lateness: await timers.lateness(Number(ms), Number(n)),
  burst: await timers.burst(Number(burstN)),
  chain: await timers.chain(Number(chainN)),
};
process.stdout.write(`${JSON.stringify(out)}\n`);
