/**
 * The {@code ./disagg} command line. Starting point: {@link io.disagg.cli.Main}.
 *
 * <p>Owns: argument parsing and wiring of the components into commands (generate, model synth, bench, the cluster
 * components and the local cluster launcher). Must not hold logic of its own that another module needs: each
 * component's behaviour lives in its module, and this module only calls it.
 */
package io.disagg.cli;
