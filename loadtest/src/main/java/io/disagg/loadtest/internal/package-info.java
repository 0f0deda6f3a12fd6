/**
 * Implementation of the load generator: arrival processes, workloads, protocol targets, the runner, statistics and
 * the HTML renderer. May change at any time. Must not touch router or worker internals.
 */
package io.disagg.loadtest.internal;
