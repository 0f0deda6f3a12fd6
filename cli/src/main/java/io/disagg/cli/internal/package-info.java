/** Implementation of the CLI commands. May change at any time. */
package io.disagg.cli.internal;
