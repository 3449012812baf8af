"""The second half of the pipeline: shipments get carriers and e-waybills, carriers are told by signed
webhooks (outbox + delivery worker) and report back through callbacks, and delivery routes with their
loading order are planned for a warehouse's ready shipments."""
