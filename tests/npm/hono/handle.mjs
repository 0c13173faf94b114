// The Node side of tests/test_edge_end_to_end.py: the app's answers to the paths given, as JSON.
//     node handle.mjs APP_MODULE PATH...
const [app, ...paths] = process.argv.slice(2);
const { handle } = await import(new URL(app, `file://${process.cwd()}/`).href);
const answers = [];
for (const path of paths) answers.push(await handle(path));
process.stdout.write(`${JSON.stringify(answers)}\n`);
