/**
 * The {@code ./disagg bench kv-transfer} harness ({@link io.disagg.kv.bench.KvTransferBenchmark}): this transport
 * against a raw blocking-socket baseline in the same run, and {@link io.disagg.kv.bench.SelfSignedTls}, the throwaway
 * certificate its TLS leg uses (the workers' TLS tests use it too). Uses only the public API; production code does
 * not depend on it.
 */
package io.disagg.kv.bench;
