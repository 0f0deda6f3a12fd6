/**
 * The hardware adapter SPI: everything the workers need from an inference backend, and nothing about how a backend
 * computes.
 *
 * <p>Starting points:
 * <ul>
 *   <li>{@link io.disagg.backend.spi.Backend} — one loaded model: prefill, batched decode steps, KV export and
 *       import, abort, drain, close.</li>
 *   <li>{@link io.disagg.backend.spi.BackendProvider} and {@link io.disagg.backend.spi.Backends} — find and open a
 *       backend by name through {@link java.util.ServiceLoader}.</li>
 *   <li>{@link io.disagg.backend.spi.KvLayout}, {@link io.disagg.backend.spi.KvBlockPool},
 *       {@link io.disagg.backend.spi.KvBlock} — the paged KV cache model that crosses the wire.</li>
 *   <li>{@link io.disagg.backend.spi.Tokenizer} and {@link io.disagg.backend.spi.Utf8StreamDecoder}.</li>
 * </ul>
 *
 * <p>Owns: the types above. Must not touch: Netty, gRPC, protobuf, or any particular backend. This package sits at the
 * bottom of the dependency graph next to {@code proto}.
 *
 * <p>Threading: a {@link io.disagg.backend.spi.Backend}'s compute methods are called by one thread at a time (the
 * worker's engine loop). {@link io.disagg.backend.spi.KvBlockPool} operations and
 * {@link io.disagg.backend.spi.Sequence#close()} are thread-safe, because transport threads reserve and release
 * blocks.
 */
package io.disagg.backend.spi;
