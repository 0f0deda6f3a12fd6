/**
 * Implementation of the client SDK: call state machines, retries, auth. May change at any time; use
 * {@link io.disagg.client.DisaggClient} instead. Talks to the router only through the generated {@code disagg.v1}
 * stubs; must not depend on any other Disagg module.
 */
package io.disagg.client.internal;
