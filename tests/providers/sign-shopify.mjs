// Signs a webhook body with Shopify's own @shopify/shopify-api, for tests/verify.rs: the
// header comes from its test helper getHmac (what its own tests use to fake Shopify's calls),
// and its webhooks.validate must accept the call before the headers are printed.
// Usage: node sign-shopify.mjs NODE_MODULES SECRET < body; prints the headers Shopify sends.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const [modules, secret] = process.argv.slice(2);
const require = createRequire(`${modules}/`);
require("@shopify/shopify-api/adapters/web-api");
const { shopifyApi, ApiVersion } = require("@shopify/shopify-api");
// The newest dated version this release of the library knows.
const version = Object.values(ApiVersion)
  .filter((v) => /^\d{4}-\d{2}$/.test(v))
  .sort()
  .at(-1);
const { getHmac } = require("@shopify/shopify-api/test-helpers");

const body = readFileSync(0, "utf8");
const headers = {
  "X-Shopify-Hmac-Sha256": getHmac(body, secret),
  "X-Shopify-Topic": "orders/create",
  "X-Shopify-Shop-Domain": "hooktail-test.myshopify.com",
  "X-Shopify-API-Version": version,
  "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
};
const shopify = shopifyApi({
  apiKey: "hooktail",
  apiSecretKey: secret,
  hostName: "localhost",
  apiVersion: version,
  isEmbeddedApp: false,
  logger: { level: 0 },
});
const request = new Request("https://localhost/webhooks", { method: "POST", headers, body });
const checked = await shopify.webhooks.validate({ rawBody: body, rawRequest: request });
if (!checked.valid) {
  console.error(`@shopify/shopify-api refused the signature: ${JSON.stringify(checked)}`);
  process.exit(1);
}
for (const [name, value] of Object.entries(headers)) console.log(`${name}: ${value}`);
