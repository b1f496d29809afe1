// Signs a webhook body with GitHub's @octokit/webhooks-methods, for tests/verify.rs.
// Usage: node sign-github.mjs NODE_MODULES SECRET < body; prints X-Hub-Signature-256.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [modules, secret] = process.argv.slice(2);
const entry = `${modules}/@octokit/webhooks-methods/dist-node/index.js`;
const { sign } = await import(pathToFileURL(entry).href);
const body = readFileSync(0, "utf8");
console.log(`X-Hub-Signature-256: ${await sign(secret, body)}`);
