// The TypeScript SDK contestant (`@temporalio/worker`, npm):
// `node worker.js http://HOST:PORT TASK_QUEUE [MAX_CACHED_WORKFLOWS]`.
const { DefaultLogger, NativeConnection, Runtime, Worker } = require('@temporalio/worker');

// Counts the steps taken in the order's `steps` field.
async function Step(order) {
  return { ...order, steps: Number(order.steps ?? 0) + 1 };
}

async function main() {
  const [address, taskQueue, cached] = process.argv.slice(2);
  if (!address || !taskQueue) {
    console.error('usage: worker.js http://HOST:PORT TASK_QUEUE [MAX_CACHED_WORKFLOWS]');
    process.exit(2);
  }
  // Like the other contestants, log warnings only.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({
    address: address.replace(/^https?:\/\//, ''),
  });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: require.resolve('./workflows.js'),
    activities: { Step },
    maxCachedWorkflows: cached ? Number(cached) : 1000,
  });
  await worker.run();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
