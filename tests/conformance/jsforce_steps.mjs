// One jsforce call against the org named by SFTK_INSTANCE_URL and SFTK_ACCESS_TOKEN:
//   node jsforce_steps.mjs <step>   (arguments as JSON on stdin, the answer as JSON on stdout)
// Exit status 0 when jsforce answered, 1 with the error on stderr when it threw. jsforce is
// loaded from the cached install the tests name in SFTK_NODE_MODULES.
import { createRequire } from "node:module";

const jsforce = createRequire(`${process.env.SFTK_NODE_MODULES}/`)("jsforce");

const conn = new jsforce.Connection({
  instanceUrl: process.env.SFTK_INSTANCE_URL,
  accessToken: process.env.SFTK_ACCESS_TOKEN,
  version: process.env.SFTK_API_VERSION,
});

const steps = {
  identity: () => conn.identity(),
  describe: ({ sobject }) => conn.sobject(sobject).describe(),
  deploy: ({ zipBase64, options }) =>
    conn.metadata.deploy(Buffer.from(zipBase64, "base64"), options).complete(true),
  retrieve: ({ request }) => conn.metadata.retrieve(request).complete(),
  upsert: ({ sobject, records, externalId }) =>
    conn.sobject(sobject).upsert(records, externalId, { allOrNone: true }),
  bulk2: ({ sobject, operation, externalIdFieldName, csv }) =>
    conn.bulk2.loadAndWaitForResults({
      object: sobject,
      operation,
      externalIdFieldName,
      input: csv,
      pollInterval: 200,
      pollTimeout: 60000,
    }),
  query: ({ soql }) => conn.query(soql),
};

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const args = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
const step = steps[process.argv[2]];
if (step === undefined) {
  console.error(`unknown step ${process.argv[2]}; steps: ${Object.keys(steps).join(", ")}`);
  process.exit(2);
}
try {
  process.stdout.write(JSON.stringify(await step(args)));
} catch (error) {
  console.error(`${error.name}: ${error.message}`);
  process.exit(1);
}
