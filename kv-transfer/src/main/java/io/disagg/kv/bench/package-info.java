/**
 * The {@code ./disagg bench kv-transfer} harness ({@link io.disagg.kv.bench.KvTransferBenchmark}): this transport
 * against a raw blocking-socket baseline in the same run. Uses only the public API; nothing depends on it.
 */
package io.disagg.kv.bench;
