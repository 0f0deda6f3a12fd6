/**
 * KV cache transport between prefill and decode workers: Netty over TCP or Unix sockets, authenticated, flow
 * controlled, checksummed, with payload written from and read into off-heap KV blocks. Wire protocol and trade-offs:
 * {@code docs/kv-transfer.md}.
 *
 * <p>Starting points:
 * <ul>
 *   <li>{@link io.disagg.kv.KvTransferServer} (decode side) with a {@link io.disagg.kv.KvDestination}, usually
 *       {@link io.disagg.kv.PoolKvDestination} and its {@code await(requestId)}.
 *   <li>{@link io.disagg.kv.KvTransferClient} (prefill side): {@code push} a whole {@code KvExport}, or
 *       {@code openSession} to stream layer by layer through a {@link io.disagg.kv.KvSendSession}.
 *   <li>{@link io.disagg.kv.KvAddress}, {@link io.disagg.kv.KvTransferHeaders}, {@link io.disagg.kv.TransferResult},
 *       {@link io.disagg.kv.KvTransferException} with its {@code Reason}.
 * </ul>
 *
 * <p>Owns the transport only: it never imports blocks into a backend (the decode worker does, from
 * {@link io.disagg.kv.ReceivedKv}) and never touches the SPI's or proto's internals.
 */
package io.disagg.kv;
