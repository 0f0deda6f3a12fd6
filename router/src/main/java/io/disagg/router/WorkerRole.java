package io.disagg.router;

/** What a registered worker does for the router. */
public enum WorkerRole {
  /** Builds KV caches and pushes them to decode workers ({@code disagg.v1.PrefillWorker}). */
  PREFILL,
  /** Decodes pushed caches, or serves a request alone when colocated ({@code disagg.v1.DecodeWorker}). */
  DECODE
}
