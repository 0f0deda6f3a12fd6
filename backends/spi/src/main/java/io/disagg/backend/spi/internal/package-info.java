/**
 * Implementation of the SPI's shared pieces (the off-heap KV block pool). May change at any time; use
 * {@link io.disagg.backend.spi.KvBlockPools} instead.
 */
package io.disagg.backend.spi.internal;
