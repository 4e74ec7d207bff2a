"""Starts a workflow from Temporal's Python SDK with its OpenTelemetry
interceptor, as an application would, and exports the client's spans to an
OTLP/HTTP collector. Used by tests/e2e/traces.rs.

    traced_client.py ADDRESS COLLECTOR TASK_QUEUE WORKFLOW_ID WORKFLOW_TYPE ARG_JSON [NATIVE_QUEUE]

With NATIVE_QUEUE, a native Python worker (with the same interceptor)
serves the activity `Shout` there while the workflow runs. Prints the
workflow's result as JSON.
"""

import asyncio
import json
import sys

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from temporalio import activity
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.worker import Worker


@activity.defn(name="Shout")
async def shout(text: str) -> str:
    return text.upper()


async def main(address, collector, task_queue, workflow_id, workflow_type, arg, native_queue):
    provider = TracerProvider(resource=Resource.create({"service.name": "python-client"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"http://{collector}/v1/traces")))
    trace.set_tracer_provider(provider)
    client = await Client.connect(address, interceptors=[TracingInterceptor()])
    handle = await client.start_workflow(workflow_type, arg, id=workflow_id, task_queue=task_queue)
    if native_queue:
        worker = Worker(client, task_queue=native_queue, activities=[shout])
        async with worker:
            result = await handle.result()
    else:
        result = await handle.result()
    provider.force_flush()
    print(json.dumps(result))


if __name__ == "__main__":
    address, collector, task_queue, workflow_id, workflow_type, arg = sys.argv[1:7]
    native = sys.argv[7] if len(sys.argv) > 7 else None
    asyncio.run(main(address, collector, task_queue, workflow_id, workflow_type, json.loads(arg), native))
